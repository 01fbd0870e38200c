//! What went wrong in a guest, in Lambda's shape: timeouts, traps, running
//! out of memory, `exit`, a full `/tmp`, or the error the guest reported
//! before it aborted.

use std::time::Duration;

use wasmtime::{Trap, WasmBacktrace};
use wasmtime_wasi::I32Exit;

use super::state::InstanceState;
use super::INIT_TIMEOUT;
use crate::bindings;
use crate::capability::files::TmpFull;
use crate::error::{
    FunctionError, ERROR_EXIT, ERROR_OUT_OF_MEMORY, ERROR_STORAGE, ERROR_TIMEOUT, ERROR_UNHANDLED,
};

/// The error an epoch callback raises when the deadline has passed.
#[derive(Debug)]
pub(super) struct Timedout;

impl std::fmt::Display for Timedout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invocation deadline reached")
    }
}

impl std::error::Error for Timedout {}

pub(super) fn from_guest(e: bindings::FunctionError) -> FunctionError {
    FunctionError {
        error_message: e.error_message,
        error_type: e.error_type,
        stack_trace: e.stack_trace,
    }
}

pub(super) fn timeout_error(request_id: &str, timeout: Duration) -> FunctionError {
    FunctionError::new(
        ERROR_TIMEOUT,
        format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ),
    )
}

pub(super) fn init_timeout_error() -> FunctionError {
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
pub(super) fn classify_error(
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
