//! One live instance of a function: its `Store`, WASI context, limits and
//! captured logs, and the code that runs `init` and `handle` on it.
//!
//! An instance serves one invocation at a time. Whatever goes wrong inside
//! the guest — a trap, a timeout, running out of memory, `exit` — comes back
//! as a Lambda-shaped [`FunctionError`] and marks the instance *poisoned*, so
//! that the pool throws it away instead of reusing a guest in an unknown
//! state.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::{Func, ResourceTable, TypedFunc};
use wasmtime::{Store, Trap, UpdateDeadline, WasmBacktrace};
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::descriptors::OpenFiles;
use crate::env::InstanceEnv;
use crate::files::{InstanceFiles, PreopensView, TmpFull};
use crate::kv::Grants;
use crate::outbound::OutboundHooks;

use crate::bindings::{self, runtime};
use crate::error::{
    FunctionError, ERROR_EXIT, ERROR_OUT_OF_MEMORY, ERROR_RESPONSE_TOO_LARGE, ERROR_STORAGE,
    ERROR_TIMEOUT, ERROR_UNHANDLED, MAX_RESPONSE_BYTES,
};
use crate::function::Function;
use crate::limits::MemoryLimiter;
use crate::logs::{CapturedLogs, LogBuffer, Stream};

/// Lambda gives `init` ten seconds, whatever the function's own timeout.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Output kept per invocation before it is truncated. CloudWatch takes
/// 256 KB per event; a megabyte keeps a chatty handler's whole story
/// without letting a log flood grow the host.
pub const LOG_CAP_BYTES: usize = 1 << 20;

/// The host's share of an instance's memory, added to its peak linear memory
/// for `Max Memory Used`: the `Store`, WASI context, fiber stack pages in use
/// and bookkeeping, measured at ~84 KiB RSS after one call and rounded up.
pub const HOST_OVERHEAD_BYTES: usize = 128 << 10;

/// The state wasmtime keeps for one instance.
pub struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundHooks,
    kv: Arc<Grants>,
    table: ResourceTable,
    /// Its environment variables.
    env: InstanceEnv,
    /// Its `/tmp` and `/opt`, opened when the guest first asks.
    files: InstanceFiles,
    /// The files it holds open (see `descriptors`).
    open_files: OpenFiles,
    pub(crate) limiter: MemoryLimiter,
    /// The deadline of the running call (invocation or init).
    deadline: Instant,
    /// What the guest said about why it is aborting, if it said anything.
    fatal: Option<bindings::FunctionError>,
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl InstanceState {
    /// The key-value stores this instance may open.
    pub(crate) fn kv_grants(&self) -> &Grants {
        &self.kv
    }

    /// The instance's resource table.
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// What `wasi:cli/environment` reads.
    pub(crate) fn env(&mut self) -> &mut InstanceEnv {
        &mut self.env
    }

    /// The files it holds open, and the table that tells which it closed.
    pub(crate) fn open_files(&mut self) -> (&mut OpenFiles, &ResourceTable) {
        (&mut self.open_files, &self.table)
    }

    /// What `wasi:filesystem/preopens` works on.
    pub(crate) fn preopens(&mut self) -> PreopensView<'_> {
        PreopensView {
            files: &mut self.files,
            table: &mut self.table,
        }
    }
}

impl runtime::Host for InstanceState {
    fn remaining_time_ms(&mut self) -> u64 {
        self.deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64
    }

    fn report_fatal(&mut self, error: bindings::FunctionError) {
        self.fatal = Some(error);
    }
}

impl bindings::wasmfn::handler::types::Host for InstanceState {}

/// The error an epoch callback raises when the deadline has passed.
#[derive(Debug)]
struct Timedout;

impl std::fmt::Display for Timedout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invocation deadline reached")
    }
}

impl std::error::Error for Timedout {}

/// What one call into the guest produced.
#[derive(Debug)]
pub struct CallOutcome {
    /// The response payload, or the error.
    pub result: Result<Vec<u8>, FunctionError>,
    /// What the guest printed during the call.
    pub logs: CapturedLogs,
    /// Wall time of the call.
    pub duration: Duration,
}

/// The handler signature of `wit/handler.wit`, as the host calls it.
type HandleFunc<'a> =
    TypedFunc<(&'a [u8], bindings::CallContext<'a>), (Result<Vec<u8>, bindings::FunctionError>,)>;
type InitFunc = TypedFunc<(), (Result<(), bindings::FunctionError>,)>;

/// A live instance of a function.
pub struct Instance {
    store: Store<InstanceState>,
    handle: Func,
    init: Option<InitFunc>,
    logs: LogBuffer,
    invocations: u64,
    poisoned: bool,
}

impl Instance {
    /// Instantiates `function` (without running `init`).
    pub async fn new(function: &Function) -> Result<Self, FunctionError> {
        let config = function.config();
        let logs = LogBuffer::new(LOG_CAP_BYTES);
        let mut wasi = WasiCtxBuilder::new();
        // The environment is `env`'s, not the WASI context's. Outbound
        // traffic goes through wasi:http and its allow-list (`outbound`);
        // raw sockets are refused before they exist, so that a guest cannot
        // hold host descriptors through them (see `descriptors`).
        wasi.stdout(logs.stream(Stream::Stdout))
            .stderr(logs.stream(Stream::Stderr))
            .allow_tcp(false)
            .allow_udp(false);
        let state = InstanceState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            outbound: function.outbound_hooks(),
            kv: function.kv_grants().clone(),
            table: ResourceTable::new(),
            env: InstanceEnv::new(
                function.environment().clone(),
                log_stream_name(&config.version),
            ),
            // The only host directories a guest can reach (see `files`).
            files: InstanceFiles::new(function.files().clone()),
            open_files: OpenFiles::default(),
            limiter: MemoryLimiter::new((config.memory_mb as usize) << 20),
            deadline: Instant::now() + INIT_TIMEOUT,
            fatal: None,
        };
        let mut store = Store::new(function.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            let now = Instant::now();
            if now >= state.deadline {
                return Err(wasmtime::Error::new(Timedout));
            }
            // A guest writing to /tmp in a loop is stopped within a check
            // interval of passing its cap, not at the end of its call:
            // however long its timeout, it cannot fill the host's disk.
            // (One write between checks is bounded by the guest's memory.)
            if let Some(tmp) = state.files.tmp_mut() {
                if let Some(full) = tmp.over_cap(now) {
                    return Err(wasmtime::Error::new(full));
                }
            }
            // Hand the thread back to the executor every tick, so a
            // spinning guest cannot starve other invocations.
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);

        let instance = tokio::time::timeout_at(
            store.data().deadline.into(),
            function.instance_pre().instantiate_async(&mut store),
        )
        .await
        .map_err(|_| init_timeout_error())?
        .map_err(|e| classify_error(e, store.data_mut(), "", INIT_TIMEOUT, false))?;

        let exports = function.exports();
        // The signatures are checked on the first instance of a function;
        // every later instance of the same component has the same types.
        if !exports.typechecked.load(Ordering::Acquire) {
            typecheck(&instance, &mut store, exports)?;
            exports.typechecked.store(true, Ordering::Release);
        }
        let handle = instance
            .get_func(&mut store, exports.handle)
            .ok_or_else(|| {
                FunctionError::new(ERROR_UNHANDLED, "component lost its `handle` export")
            })?;
        let init = exports
            .init
            .and_then(|index| instance.get_func(&mut store, index))
            // SAFETY: `typecheck` checked `init` against exactly this type.
            .map(|f| unsafe { InitFunc::new_unchecked(f) });
        Ok(Instance {
            store,
            handle,
            init,
            logs,
            invocations: 0,
            poisoned: false,
        })
    }

    /// Runs the guest's `init`, if it has one. On error the instance is
    /// poisoned.
    pub async fn init(&mut self) -> CallOutcome {
        let start = Instant::now();
        let Some(init) = self.init else {
            return CallOutcome {
                result: Ok(Vec::new()),
                logs: CapturedLogs::default(),
                duration: start.elapsed(),
            };
        };
        self.begin_call(start, INIT_TIMEOUT);
        self.poisoned = true;
        let deadline = self.store.data().deadline;
        let call =
            tokio::time::timeout_at(deadline.into(), init.call_async(&mut self.store, ())).await;
        let result = match call {
            Err(_elapsed) => Err(init_timeout_error()),
            Ok(Err(e)) => Err(classify_error(
                e,
                self.store.data_mut(),
                "",
                INIT_TIMEOUT,
                false,
            )),
            Ok(Ok((Err(guest),))) => Err(from_guest(guest)),
            Ok(Ok((Ok(()),))) => {
                self.poisoned = false;
                Ok(Vec::new())
            }
        };
        CallOutcome {
            result,
            logs: self.logs.take(),
            duration: start.elapsed(),
        }
    }

    /// Runs `handle` for one event. The instance is poisoned unless the guest
    /// returned normally (an `Err` it returned on purpose counts as normal).
    pub async fn invoke(
        &mut self,
        event: &[u8],
        ctx: bindings::CallContext<'_>,
        timeout: Duration,
    ) -> CallOutcome {
        let start = Instant::now();
        self.begin_call(start, timeout);
        self.invocations += 1;
        self.poisoned = true;
        // SAFETY: `Instance::new` type-checked `handle` against exactly this
        // signature; only the lifetimes of the borrowed parameters differ.
        let handle: HandleFunc<'_> = unsafe { TypedFunc::new_unchecked(self.handle) };
        let deadline = self.store.data().deadline;
        let call = tokio::time::timeout_at(
            deadline.into(),
            handle.call_async(&mut self.store, (event, ctx)),
        )
        .await;
        let end = Instant::now();
        let over_cap = self
            .store
            .data_mut()
            .files
            .tmp_mut()
            .and_then(|tmp| tmp.over_cap(end));
        let result = match call {
            Err(_elapsed) => Err(timeout_error(ctx.request_id, timeout)),
            Ok(Err(e)) => Err(classify_error(
                e,
                self.store.data_mut(),
                ctx.request_id,
                timeout,
                true,
            )),
            Ok(Ok((Err(guest),))) => {
                self.poisoned = false;
                Err(from_guest(guest))
            }
            Ok(Ok((Ok(payload),))) => {
                self.poisoned = false;
                if payload.len() > MAX_RESPONSE_BYTES {
                    // The guest is fine; its answer is not deliverable.
                    Err(FunctionError::new(
                        ERROR_RESPONSE_TOO_LARGE,
                        format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
                    ))
                } else {
                    Ok(payload)
                }
            }
        };
        if let Some(full) = over_cap {
            // Retired after this call: its /tmp goes with it.
            tracing::warn!(
                used_mb = full.used.bytes >> 20,
                entries = full.used.entries,
                "an instance's /tmp is over its ephemeralStorageSize; retiring it"
            );
            self.poisoned = true;
        }
        CallOutcome {
            result,
            logs: self.logs.take(),
            duration: end - start,
        }
    }

    fn begin_call(&mut self, start: Instant, timeout: Duration) {
        let state = self.store.data_mut();
        state.deadline = start + timeout;
        state.fatal = None;
        state.limiter.clear_hit();
        self.store.set_epoch_deadline(1);
    }

    /// Whether the last call left the guest in an unknown state.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// How many invocations this instance has served.
    pub fn invocations(&self) -> u64 {
        self.invocations
    }

    /// The CloudWatch log stream name of this instance (shared, so that a
    /// call's context can borrow it while the store is busy with the call).
    pub fn log_stream_name(&self) -> &Arc<str> {
        self.store.data().env.log_stream_name()
    }

    /// The most linear memory the instance has used, plus its host overhead,
    /// in bytes.
    pub fn max_memory_used_bytes(&self) -> usize {
        self.store.data().limiter.peak() + HOST_OVERHEAD_BYTES
    }
}

/// Checks that `handle` (and `init`, if exported) have the types of
/// wit/handler.wit.
fn typecheck(
    instance: &wasmtime::component::Instance,
    store: &mut Store<InstanceState>,
    exports: &crate::function::Exports,
) -> Result<(), FunctionError> {
    instance
        .get_typed_func::<(&[u8], bindings::CallContext<'_>), (Result<Vec<u8>, bindings::FunctionError>,)>(
            &mut *store,
            exports.handle,
        )
        .map_err(|e| {
            FunctionError::new(
                "Runtime.InvalidEntrypoint",
                format!("`handle` does not match wit/handler.wit: {e:#}"),
            )
        })?;
    if let Some(init) = exports.init {
        instance
            .get_typed_func::<(), (Result<(), bindings::FunctionError>,)>(&mut *store, init)
            .map_err(|e| {
                FunctionError::new(
                    "Runtime.InvalidEntrypoint",
                    format!("`init` does not match wit/handler.wit: {e:#}"),
                )
            })?;
    }
    Ok(())
}

/// Lambda's log stream name: `YYYY/MM/DD/[version]` plus a random id.
///
/// Built on every instantiation, so it is assembled piece by piece: the
/// `format!` machinery (padding, `Display` for the id) was a twentieth of
/// `instantiate`.
fn log_stream_name(version: &str) -> Arc<str> {
    let (y, m, d) = civil_date(unix_ms(SystemTime::now()) / 86_400_000);
    let mut id = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().simple().encode_lower(&mut id);
    let mut name = String::with_capacity(13 + version.len() + id.len());
    push_digits(&mut name, y, 4);
    name.push('/');
    push_digits(&mut name, m, 2);
    name.push('/');
    push_digits(&mut name, d, 2);
    name.push_str("/[");
    name.push_str(version);
    name.push(']');
    name.push_str(id);
    name.into()
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = (n / 10u64.pow(place) % 10) as u8;
        out.push(char::from(b'0' + digit));
    }
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`), without formatting a whole timestamp.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn from_guest(e: bindings::FunctionError) -> FunctionError {
    FunctionError {
        error_message: e.error_message,
        error_type: e.error_type,
        stack_trace: e.stack_trace,
    }
}

fn timeout_error(request_id: &str, timeout: Duration) -> FunctionError {
    FunctionError::new(
        ERROR_TIMEOUT,
        format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ),
    )
}

fn init_timeout_error() -> FunctionError {
    FunctionError::new(
        ERROR_TIMEOUT,
        format!(
            "Error: init timed out after {:.2} seconds",
            INIT_TIMEOUT.as_secs_f64()
        ),
    )
}

/// Turns an error out of wasmtime into Lambda's shape. The order matters: a
/// guest that hit its memory cap usually dies by a trap (its allocator
/// aborts), and that trap must read as out-of-memory, not as `unreachable`.
fn classify_error(
    error: wasmtime::Error,
    state: &mut InstanceState,
    request_id: &str,
    timeout: Duration,
    in_invoke: bool,
) -> FunctionError {
    let prefix = if request_id.is_empty() {
        String::from("Error: ")
    } else {
        format!("RequestId: {request_id} Error: ")
    };
    if error.downcast_ref::<Timedout>().is_some() {
        return if in_invoke {
            timeout_error(request_id, timeout)
        } else {
            init_timeout_error()
        };
    }
    if let Some(full) = error.downcast_ref::<TmpFull>() {
        return FunctionError::new(ERROR_STORAGE, format!("{prefix}{full}"));
    }
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return FunctionError::new(
            ERROR_EXIT,
            format!("{prefix}Runtime exited with error: exit status {}", exit.0),
        );
    }
    if state.limiter.hit_limit() {
        return FunctionError::new(
            ERROR_OUT_OF_MEMORY,
            format!(
                "{prefix}Runtime exited with error: out of memory (the function's memorySize of {} MB was reached)",
                (state.limiter.limit_bytes() >> 20)
            ),
        );
    }
    let stack_trace = error
        .downcast_ref::<WasmBacktrace>()
        .map(|bt| {
            bt.frames()
                .iter()
                .map(|f| {
                    let name = f.func_name().unwrap_or("<unknown>");
                    format!(
                        "at {:#} ({})",
                        rustc_demangle::demangle(name),
                        f.module().name().unwrap_or("wasm")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(fatal) = state.fatal.take() {
        let mut e = from_guest(fatal);
        if e.stack_trace.is_empty() {
            e.stack_trace = stack_trace;
        }
        return e;
    }
    let what = match error.downcast_ref::<Trap>() {
        // A trap displays as "wasm trap: <what>".
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    FunctionError {
        error_message: format!("{prefix}{what}"),
        error_type: ERROR_UNHANDLED.to_string(),
        stack_trace,
    }
}

#[cfg(test)]
mod tests {
    use super::{civil_date, log_stream_name, push_digits};

    #[test]
    fn civil_date_matches_the_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_782), (2026, 11, 25));
    }

    #[test]
    fn digits_are_zero_padded() {
        let mut out = String::new();
        push_digits(&mut out, 7, 2);
        push_digits(&mut out, 2026, 4);
        push_digits(&mut out, 31, 2);
        assert_eq!(out, "07202631");
    }

    #[test]
    fn log_stream_names_have_lambdas_shape() {
        let name = log_stream_name("$LATEST");
        let (date, id) = name.split_once("/[$LATEST]").unwrap();
        let parts: Vec<&str> = date.split('/').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 2, 2]);
        assert!(parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(
            name,
            log_stream_name("$LATEST"),
            "each instance has its own id"
        );
    }
}
