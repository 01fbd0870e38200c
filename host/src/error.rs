//! Errors in the two shapes the host deals in.
//!
//! * [`FunctionError`] is what a *caller* of a function sees when an
//!   invocation fails: Lambda's `{"errorMessage", "errorType", "stackTrace"}`
//!   body. Guest errors, traps, timeouts and out-of-memory all end up here.
//! * [`LoadError`] is what an *operator* sees when a function cannot be made
//!   ready: a missing file, bytes that are not a component, a component that
//!   does not speak the wasmfn ABI. Every variant names the thing and the fix.
//!
//! An error that says its cause inside its own sentence, before the fix,
//! keeps that cause in a field named `reason`, never `source`: as the
//! error's `source()`, `{:#}` (the CLI, the Lambda runtime's init error,
//! `--watch`) would print it a second time after the fix. The host's other
//! error types follow the same rule.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `errorType` of an invocation that ran past its timeout.
pub const ERROR_TIMEOUT: &str = "Sandbox.Timedout";
/// The `errorType` of an invocation that hit its memory cap.
pub const ERROR_OUT_OF_MEMORY: &str = "Runtime.OutOfMemory";
/// The `errorType` of a trap or panic that the guest did not handle.
pub const ERROR_UNHANDLED: &str = "Runtime.Unhandled";
/// The `errorType` of a guest that called `exit`.
pub const ERROR_EXIT: &str = "Runtime.ExitError";
/// The `errorType` of a guest whose `init` failed.
pub const ERROR_INIT: &str = "Runtime.InitError";
/// The `errorType` of an invocation stopped because its instance's `/tmp`
/// grew past the function's `ephemeralStorageSize`.
pub const ERROR_STORAGE: &str = "Runtime.EphemeralStorageExceeded";
/// The `errorType` of an instance the engine had no slot for: every one of
/// its pooling allocator's instances is in use (`wasmfn serve` has 1000).
pub const ERROR_NO_CAPACITY: &str = "Runtime.CapacityExceeded";
/// The `errorType` of a response over the payload limit.
pub const ERROR_RESPONSE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";
/// Lambda's limit on a synchronous response payload, in bytes (6 MB and
/// the 100 bytes Lambda allows on top, as its own error message states).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// A failed invocation, in Lambda's error shape.
///
/// Serializes exactly as Lambda's error payload: `errorMessage` first, then
/// `errorType`, then `stackTrace` (left out when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionError {
    /// A human-readable description.
    pub error_message: String,
    /// A short machine-readable type, e.g. `Sandbox.Timedout`.
    pub error_type: String,
    /// Stack-trace lines, when there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

impl FunctionError {
    /// An error with the given type and message and no stack trace.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        FunctionError {
            error_message: error_message.into(),
            error_type: error_type.into(),
            stack_trace: Vec::new(),
        }
    }

    /// The error as Lambda's JSON error body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a FunctionError always serializes")
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for FunctionError {}

/// Why a function could not be loaded. Each message names the file and what
/// to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file does not exist or cannot be read.
    #[error("cannot read `{path}`: {reason}. Check the path, or build the function first")]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        reason: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("`{path}` is not a WebAssembly file (it does not start with `\\0asm`). Pass the `.wasm` built by `cargo build --target wasm32-wasip2`")]
    NotWasm {
        /// The offending file.
        path: PathBuf,
    },
    /// A core module rather than a component.
    #[error("`{path}` is a core WebAssembly module, not a component. Build it with `--target wasm32-wasip2`, or wrap it with `wasm-tools component new`")]
    CoreModule {
        /// The offending file.
        path: PathBuf,
    },
    /// Cranelift or the validator rejected the component.
    #[error("`{path}` is not a valid WebAssembly component: {message}")]
    Invalid {
        /// The offending file.
        path: PathBuf,
        /// What the validator or compiler said.
        message: String,
    },
    /// The component does not export the handler function.
    #[error("`{path}` does not export `{export}` from the `wasmfn:handler` world. Build it with the wasmfn guest SDK (`#[wasmfn_guest::handler]`) or export `{export}` from wit/handler.wit")]
    MissingExport {
        /// The offending file.
        path: PathBuf,
        /// The export that is missing.
        export: &'static str,
    },
    /// The component exports the name but with another signature, or imports
    /// something the host does not provide.
    #[error("`{path}` does not match the wasmfn ABI: {message}. Rebuild it against this host's wit/handler.wit")]
    Abi {
        /// The offending file.
        path: PathBuf,
        /// What did not match.
        message: String,
    },
    /// The function's configuration is outside what Lambda (or this host's
    /// engine) allows.
    #[error("function `{function}`: {message}. Set it in the manifest (`memorySize`, `timeout`) or with `--memory` / `--timeout`")]
    Config {
        /// The function.
        function: String,
        /// What is out of range, and the range.
        message: String,
    },
    /// The function's `/tmp` root or `/opt` layers could not be set up.
    #[error("function `{function}`: cannot set up its files (/tmp, layers at /opt): {reason}. Check that each layer is a readable directory")]
    Files {
        /// The function.
        function: String,
        /// The I/O error.
        reason: std::io::Error,
    },
    /// A granted key-value store could not be opened.
    #[error("function `{function}`: {message}. Check the store's path, and that no other process has it open")]
    Store {
        /// The function.
        function: String,
        /// What went wrong.
        message: String,
    },
    /// `snapStart`: the snapshot of the function's `init` could not be
    /// taken (its `init` failed, or left state a snapshot cannot hold).
    #[error("function `{function}`: cannot take its SnapStart snapshot: {message}")]
    Snapshot {
        /// The function.
        function: String,
        /// What went wrong, with the guest's error.
        message: String,
    },
    /// No precompiled artifact of the component fits this engine, and this
    /// build of wasmfn has no compiler to make one (a Lambda bootstrap
    /// built without the `compiler` feature).
    #[error("this wasmfn was built without its compiler (`--no-default-features`) and cannot {what} `{path}`: it only runs what `wasmfn package` ships, precompiled, and no artifact of that component in `{dir}` fits this CPU and engine. Package it with `wasmfn package` (for this architecture, by the same wasmfn version), or use a wasmfn built with its default features")]
    NoCompiler {
        /// The component.
        path: PathBuf,
        /// Where the artifact was looked for.
        dir: PathBuf,
        /// What it would have done: "compile", "take the SnapStart
        /// snapshot of".
        what: &'static str,
    },
    /// The artifact cache could not be written or read.
    #[error("artifact cache at `{dir}`: {message}")]
    Cache {
        /// The cache directory.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// An invocation refused because the function already runs as many
/// invocations as its reserved concurrency allows: Lambda's
/// `TooManyRequestsException` (HTTP 429), a service error rather than a
/// function error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Rate Exceeded: function `{function}` is already running {limit} invocations, its reserved concurrency. Retry later, or raise reservedConcurrency")]
pub struct Throttled {
    /// The function's name.
    pub function: String,
    /// Its concurrency limit.
    pub limit: u32,
}

/// An invocation whose tenant id does not fit the function: Lambda's
/// `InvalidParameterValueException` (HTTP 400) for a missing or unwanted
/// id, its validation error for a malformed one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// A function with `tenantIsolationMode: PER_TENANT` invoked without
    /// `X-Amz-Tenant-Id`, or one without it invoked with one. Lambda's
    /// troubleshooting guide (tenant-isolation-troubleshooting.html) gives
    /// this one message for both.
    #[error("Tenant ID configuration not specified or passed to a function when tenant isolation is not enabled.")]
    Mismatch {
        /// Whether the function isolates tenants.
        isolated: bool,
    },
    /// An id outside the `TenantId` shape of Lambda's service model:
    /// 1–256 characters of `[a-zA-Z0-9._:/=+\-@ ]`.
    #[error("1 validation error detected: Value '{0}' at 'tenantId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9\\._:\\/=+\\-@ ]+ and have length between 1 and 256")]
    Invalid(String),
}

impl TenantError {
    /// Checks `tenant` against the `TenantId` shape.
    pub fn check_id(tenant: &str) -> Result<(), TenantError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._:/=+-@ ".contains(c);
        if (1..=256).contains(&tenant.len()) && tenant.chars().all(allowed) {
            Ok(())
        } else {
            Err(TenantError::Invalid(tenant.to_string()))
        }
    }
}

/// Why an invocation was refused before it ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Over the function's reserved concurrency.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// A tenant id that does not fit the function.
    #[error(transparent)]
    Tenant(#[from] TenantError),
}
