//! One live instance of a function: its `Store`, WASI context, limits and
//! captured logs, and the code that runs `init` and `handle` on it.
//!
//! An instance serves one invocation at a time. Whatever goes wrong inside
//! the guest — a trap, a timeout, running out of memory, `exit` — comes back
//! as a Lambda-shaped [`FunctionError`] and marks the instance *poisoned*, so
//! that the pool throws it away instead of reusing a guest in an unknown
//! state.
//!
//! May import: `bindings`, `capability` and the shapes (`error`, `aws`, `report`);
//! never the function that owns it: an instance is made from its
//! [`Template`] alone.

pub mod classify;
pub mod limits;
pub mod log_stream;
pub mod logs;
pub mod response;
#[cfg(feature = "compiler")]
pub mod snapshot;
pub mod state;
pub mod template;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Func, TypedFunc};
use wasmtime::{Store, UpdateDeadline};

use self::classify::{classify_error, from_guest, init_timeout_error, timeout_error, Timedout};
pub use self::log_stream::unix_ms;
use self::logs::{CapturedLogs, LogBuffer};
use self::response::ResponseSink;
pub use self::state::InstanceState;
pub use self::template::{Exports, Template};
use crate::bindings::{self, Abi};
use crate::error::{
    FunctionError, ERROR_NO_CAPACITY, ERROR_RESPONSE_TOO_LARGE, ERROR_UNHANDLED, MAX_RESPONSE_BYTES,
};

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

/// The handler signatures of `wit/handler.wit`, as the host calls them.
type HandleFunc<'a> =
    TypedFunc<(&'a [u8], bindings::CallContext<'a>), (Result<Vec<u8>, bindings::FunctionError>,)>;
type HandleStreamFunc<'a> =
    TypedFunc<(&'a [u8], bindings::CallContext<'a>), (Result<(), bindings::FunctionError>,)>;
/// `handle` of the 0.1 ABI, whose context has no `tenant-id`.
type HandleFunc01<'a> =
    TypedFunc<(&'a [u8], bindings::CallContext01<'a>), (Result<Vec<u8>, bindings::FunctionError>,)>;
type InitFunc = TypedFunc<(), (Result<(), bindings::FunctionError>,)>;

/// A live instance of a function.
pub struct Instance {
    store: Store<InstanceState>,
    /// The component instance, which a snapshot reads its state from.
    #[cfg_attr(not(feature = "compiler"), allow(dead_code))]
    component: wasmtime::component::Instance,
    handle: Func,
    /// `handle-stream`, when the guest streams its responses itself.
    handle_stream: Option<Func>,
    init: Option<InitFunc>,
    abi: Abi,
    logs: LogBuffer,
    invocations: u64,
    poisoned: bool,
}

impl Instance {
    /// Instantiates `template` (without running `init`).
    pub async fn new(template: &Template) -> Result<Self, FunctionError> {
        let logs = LogBuffer::new(LOG_CAP_BYTES);
        let state = template.state(&logs);
        let mut store = Store::new(&template.engine, state);
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
            template.pre.instantiate_async(&mut store),
        )
        .await
        .map_err(|_| init_timeout_error())?
        .map_err(|e| {
            if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                .is_some()
            {
                FunctionError::new(ERROR_NO_CAPACITY, format!("{e:#}"))
            } else {
                classify_error(e, store.data_mut(), "", INIT_TIMEOUT, false)
            }
        })?;

        let exports = &template.exports;
        // The signatures are checked on the first instance of a function;
        // every later instance of the same component has the same types.
        let abi = match exports.abi.get() {
            Some(abi) => *abi,
            None => {
                let abi = typecheck(&instance, &mut store, exports)?;
                *exports.abi.get_or_init(|| abi)
            }
        };
        let handle_stream = exports
            .handle_stream
            .filter(|_| abi == Abi::V0_2)
            .and_then(|index| instance.get_func(&mut store, index));
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
            component: instance,
            handle,
            handle_stream,
            init,
            abi,
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
        self.call(event, ctx, timeout, None).await
    }

    /// Runs one event whose response is streamed to `sink`: through
    /// `handle-stream` when the guest has it (each chunk leaves as it is
    /// written), else through `handle`, whose response is sent as one chunk.
    /// The outcome's payload is empty; its error is what ended the stream.
    pub async fn invoke_streamed(
        &mut self,
        event: &[u8],
        ctx: bindings::CallContext<'_>,
        timeout: Duration,
        sink: ResponseSink,
    ) -> CallOutcome {
        self.call(event, ctx, timeout, Some(sink)).await
    }

    /// Whether the guest streams responses itself (`handle-stream`).
    pub fn streams(&self) -> bool {
        self.handle_stream.is_some()
    }

    async fn call(
        &mut self,
        event: &[u8],
        ctx: bindings::CallContext<'_>,
        timeout: Duration,
        sink: Option<ResponseSink>,
    ) -> CallOutcome {
        let start = Instant::now();
        self.begin_call(start, timeout);
        self.invocations += 1;
        self.poisoned = true;
        let deadline = self.store.data().deadline.into();
        let mut too_large = false;
        // A streamed call goes to `handle-stream` when the guest has it;
        // otherwise `handle` answers, and its response is the one chunk.
        let (stream, one_chunk) = match self.handle_stream {
            Some(stream) => (sink.map(|sink| (stream, sink)), None),
            None => (None, sink),
        };
        // SAFETY (each `new_unchecked`): `Instance::new` type-checked the
        // export against exactly this signature, for this ABI; only the
        // lifetimes of the borrowed parameters differ.
        let call = match (stream, self.abi) {
            (Some((stream, sink)), _) => {
                self.store.data_mut().response = Some(sink);
                let f: HandleStreamFunc<'_> = unsafe { TypedFunc::new_unchecked(stream) };
                let call =
                    tokio::time::timeout_at(deadline, f.call_async(&mut self.store, (event, ctx)))
                        .await;
                let sink = self.store.data_mut().response.take();
                too_large = sink.as_ref().is_some_and(ResponseSink::too_large);
                call.map(|r| r.map(|(r,)| r.map(|()| Returned::Streamed)))
            }
            (None, Abi::V0_2) => {
                let f: HandleFunc<'_> = unsafe { TypedFunc::new_unchecked(self.handle) };
                tokio::time::timeout_at(deadline, f.call_async(&mut self.store, (event, ctx)))
                    .await
                    .map(|r| r.map(|(r,)| r.map(Returned::Payload)))
            }
            (None, Abi::V0_1) => {
                let f: HandleFunc01<'_> = unsafe { TypedFunc::new_unchecked(self.handle) };
                let ctx = ctx.to_0_1();
                tokio::time::timeout_at(deadline, f.call_async(&mut self.store, (event, ctx)))
                    .await
                    .map(|r| r.map(|(r,)| r.map(Returned::Payload)))
            }
        };
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
            // Past the limit the invocation fails, whatever the guest made
            // of its refused write.
            Ok(Ok(_)) if too_large => {
                self.poisoned = false;
                Err(stream_too_large())
            }
            Ok(Ok(Err(guest))) => {
                self.poisoned = false;
                Err(from_guest(guest))
            }
            Ok(Ok(Ok(Returned::Streamed))) => {
                self.poisoned = false;
                Ok(Vec::new())
            }
            Ok(Ok(Ok(Returned::Payload(payload)))) => {
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
        // A client gone by now has nothing to receive.
        let result = match (one_chunk, result) {
            (Some(mut sink), Ok(payload)) => {
                let _ = sink.send(payload.into()).await;
                Ok(Vec::new())
            }
            (_, result) => result,
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

/// What a `handle` or `handle-stream` call returned.
enum Returned {
    /// `handle`'s payload.
    Payload(Vec<u8>),
    /// `handle-stream` finished.
    Streamed,
}

fn stream_too_large() -> FunctionError {
    FunctionError::new(
        ERROR_RESPONSE_TOO_LARGE,
        format!(
            "Response payload size exceeded maximum allowed payload size ({} bytes).",
            response::MAX_STREAMED_BYTES
        ),
    )
}

/// Checks that `handle` (and `handle-stream` and `init`, if exported) have
/// the types of wit/handler.wit, now or as of 0.1, and says which.
fn typecheck(
    instance: &wasmtime::component::Instance,
    store: &mut Store<InstanceState>,
    exports: &Exports,
) -> Result<Abi, FunctionError> {
    let current = instance
        .get_typed_func::<(&[u8], bindings::CallContext<'_>), (Result<Vec<u8>, bindings::FunctionError>,)>(
            &mut *store,
            exports.handle,
        );
    let abi = match current {
        Ok(_) => Abi::V0_2,
        Err(e) => {
            let earlier = instance
                .get_typed_func::<(&[u8], bindings::CallContext01<'_>), (Result<Vec<u8>, bindings::FunctionError>,)>(
                    &mut *store,
                    exports.handle,
                );
            if earlier.is_err() {
                return Err(FunctionError::new(
                    "Runtime.InvalidEntrypoint",
                    format!("`handle` does not match wit/handler.wit: {e:#}"),
                ));
            }
            Abi::V0_1
        }
    };
    if let Some(stream) = exports.handle_stream.filter(|_| abi == Abi::V0_2) {
        instance
            .get_typed_func::<(&[u8], bindings::CallContext<'_>), (Result<(), bindings::FunctionError>,)>(
                &mut *store,
                stream,
            )
            .map_err(|e| {
                FunctionError::new(
                    "Runtime.InvalidEntrypoint",
                    format!("`handle-stream` does not match wit/handler.wit: {e:#}"),
                )
            })?;
    }
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
    Ok(abi)
}
