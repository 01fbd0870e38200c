//! The glue between the `#[handler]` expansion and the generated bindings.

use std::future::Future;
use std::pin::pin;
use std::task::{Poll, Waker};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::stream::ResponseStream;
use crate::{Context, Error};

#[cfg(target_family = "wasm")]
pub use crate::bindings::wasmfn::handler::types::{
    Context as WitContext, FunctionError as WitError,
};
#[cfg(target_family = "wasm")]
pub use crate::bindings::Guest;

/// Decodes the event, calls the handler and encodes its result.
pub fn call<E, R, Er, F>(event: &[u8], ctx: Context, f: F) -> Result<Vec<u8>, Error>
where
    E: DeserializeOwned,
    R: Serialize,
    Er: Into<Error>,
    F: FnOnce(E, Context) -> Result<R, Er>,
{
    let response = around(event, ctx, f)?;
    serde_json::to_vec(&response).map_err(|e| {
        Error::new(
            "Runtime.MarshalError",
            format!("the handler's response cannot be serialized to JSON: {e}"),
        )
    })
}

/// Decodes the event and calls a streaming handler with `out`.
pub fn call_streaming<E, Er, F>(
    event: &[u8],
    ctx: Context,
    out: &mut ResponseStream,
    f: F,
) -> Result<(), Error>
where
    E: DeserializeOwned,
    Er: Into<Error>,
    F: FnOnce(E, &mut ResponseStream, Context) -> Result<(), Er>,
{
    around(event, ctx, |event, ctx| f(event, out, ctx))
}

/// What every invocation does around its handler: decode the event, tie
/// the logs and metrics to it.
fn around<E, R, Er, F>(event: &[u8], ctx: Context, f: F) -> Result<R, Error>
where
    E: DeserializeOwned,
    Er: Into<Error>,
    F: FnOnce(E, Context) -> Result<R, Er>,
{
    let event: E = serde_json::from_slice(event).map_err(|e| {
        Error::new(
            "Runtime.UnmarshalError",
            format!(
                "the event does not match the handler's event type `{}`: {e}",
                std::any::type_name::<E>()
            ),
        )
    })?;
    crate::logging::init();
    crate::logging::begin(&ctx);
    crate::metrics::begin(&ctx.function_name);
    let response = f(event, ctx).map_err(Into::into);
    // Lambda's EMF lines belong to the invocation that produced them, error
    // or not.
    crate::metrics::flush();
    crate::logging::end();
    response
}

/// Drives a future to completion on the current (only) thread.
///
/// Guest I/O through WASI 0.2 is blocking, so a handler's futures are ready
/// whenever polled; this loop never needs a reactor.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Runs the handler for one event (the body of the `handle` export).
#[cfg(target_family = "wasm")]
pub fn handle<E, R, Er, F>(event: Vec<u8>, ctx: WitContext, f: F) -> Result<Vec<u8>, WitError>
where
    E: DeserializeOwned,
    R: Serialize,
    Er: Into<Error>,
    F: FnOnce(E, Context) -> Result<R, Er>,
{
    begin_call(&ctx)?;
    call(&event, Context::from(ctx), f).map_err(Error::into_wit)
}

/// Runs a buffered handler for a streamed invocation (the body of the
/// `handle-stream` export): its response is the one chunk.
#[cfg(target_family = "wasm")]
pub fn handle_as_stream<E, R, Er, F>(event: Vec<u8>, ctx: WitContext, f: F) -> Result<(), WitError>
where
    E: DeserializeOwned,
    R: Serialize,
    Er: Into<Error>,
    F: FnOnce(E, Context) -> Result<R, Er>,
{
    let payload = handle(event, ctx, f)?;
    let mut out = ResponseStream::host();
    // It can only fail for a client that has gone: nobody is left to tell,
    // and the handler itself did its work.
    let _ = std::io::Write::write_all(&mut out, &payload);
    Ok(())
}

/// Runs a streaming handler for a streamed invocation (the body of the
/// `handle-stream` export): every write goes out as it is made.
#[cfg(target_family = "wasm")]
pub fn handle_stream<E, Er, F>(event: Vec<u8>, ctx: WitContext, f: F) -> Result<(), WitError>
where
    E: DeserializeOwned,
    Er: Into<Error>,
    F: FnOnce(E, &mut ResponseStream, Context) -> Result<(), Er>,
{
    begin_call(&ctx)?;
    let mut out = ResponseStream::host();
    call_streaming(&event, Context::from(ctx), &mut out, f).map_err(Error::into_wit)
}

/// Runs a streaming handler for a buffered invocation (the body of the
/// `handle` export): the response is everything it wrote, as Lambda
/// answers a streaming function invoked with `Invoke`.
#[cfg(target_family = "wasm")]
pub fn handle_buffered<E, Er, F>(event: Vec<u8>, ctx: WitContext, f: F) -> Result<Vec<u8>, WitError>
where
    E: DeserializeOwned,
    Er: Into<Error>,
    F: FnOnce(E, &mut ResponseStream, Context) -> Result<(), Er>,
{
    begin_call(&ctx)?;
    let mut out = ResponseStream::buffered();
    call_streaming(&event, Context::from(ctx), &mut out, f).map_err(Error::into_wit)?;
    Ok(out.into_bytes())
}

/// What precedes every handler call on wasm.
#[cfg(target_family = "wasm")]
fn begin_call(ctx: &WitContext) -> Result<(), WitError> {
    install_panic_hook();
    crate::snapstart::after_restore().map_err(Error::into_wit)?;
    set_trace_env(ctx.trace_id.as_deref());
    Ok(())
}

/// As Lambda's runtimes do: the invocation's X-Ray trace header is also in
/// `_X_AMZN_TRACE_ID`, for tracing libraries that read it from there. A
/// guest instance runs one invocation at a time on one thread, so setting
/// the process environment here is race-free.
#[cfg(target_family = "wasm")]
fn set_trace_env(trace: Option<&str>) {
    use std::sync::atomic::Ordering;
    match trace {
        Some(trace) => {
            std::env::set_var("_X_AMZN_TRACE_ID", trace);
            TRACE_SET.store(true, Ordering::Relaxed);
        }
        None if TRACE_SET.swap(false, Ordering::Relaxed) => {
            std::env::remove_var("_X_AMZN_TRACE_ID")
        }
        None => {}
    }
}

/// Whether `_X_AMZN_TRACE_ID` may be set now: at first, unknown (the
/// function's environment could hold one, if `init` did not run).
/// Unsetting scans the whole environment, which an invocation without a
/// trace need not pay for.
#[cfg(target_family = "wasm")]
static TRACE_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Runs the init function (the body of the `init` export).
#[cfg(target_family = "wasm")]
pub fn init<Er, F>(f: F) -> Result<(), WitError>
where
    Er: Into<Error>,
    F: FnOnce() -> Result<(), Er>,
{
    install_panic_hook();
    // What the first invocation would otherwise set up on its own request
    // path (the process environment, the logger, clearing a trace id the
    // environment may hold): here it counts as init, and a pre-warmed
    // spare's first event finds it done.
    crate::logging::init();
    set_trace_env(None);
    f().map_err(|e| e.into().into_wit())?;
    if crate::snapstart::is_snapshotting() {
        crate::snapstart::before_snapshot().map_err(Error::into_wit)?;
    }
    Ok(())
}

/// The `init` of a handler without one.
pub fn no_init() -> Result<(), Error> {
    Ok(())
}

/// Reports panics to the host before the guest aborts, so that the caller
/// sees the panic message instead of a bare `unreachable` trap.
#[cfg(target_family = "wasm")]
fn install_panic_hook() {
    use std::sync::Once;
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "Box<dyn Any>".to_string()
            };
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            crate::bindings::wasmfn::handler::runtime::report_fatal(&WitError {
                error_type: "Runtime.Unhandled".to_string(),
                error_message: format!("Lambda panicked: {message}"),
                stack_trace: if location.is_empty() {
                    Vec::new()
                } else {
                    vec![format!("at {location}")]
                },
            });
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_decodes_runs_and_encodes() {
        let out = call(
            br#"{"n": 2}"#,
            Context::for_test("t"),
            |e: serde_json::Value, _| Ok::<_, Error>(e["n"].as_i64().unwrap() * 21),
        )
        .unwrap();
        assert_eq!(out, b"42");
    }

    #[test]
    fn a_bad_event_is_an_unmarshal_error() {
        let err = call(
            b"[1]",
            Context::for_test("t"),
            |e: std::collections::HashMap<String, u8>, _| Ok::<_, Error>(e.len()),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "Runtime.UnmarshalError");
    }

    #[test]
    fn block_on_runs_ready_futures() {
        assert_eq!(block_on(async { 7 }), 7);
    }
}
