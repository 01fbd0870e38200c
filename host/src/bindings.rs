//! Host-side bindings generated from `wit/handler.wit`, the single source of
//! the ABI. The guest SDK generates its side from the same file.
//!
//! May import: `crate::capability` (the interfaces it generates itself).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasmfn:handler/handler",
    // The key-value interfaces are async, so their linker needs `Send` state.
    require_store_data_send: true,
    // A streamed chunk waits for the client to take it.
    imports: {
        "wasmfn:handler/runtime.write-response": async,
    },
    // The key-value capability generates its own interfaces, so that it
    // never needs this module.
    with: {
        "wasi:keyvalue/store": crate::capability::kv::generated::wasi::keyvalue::store,
        "wasi:keyvalue/atomics": crate::capability::kv::generated::wasi::keyvalue::atomics,
    },
});

pub use self::wasmfn::handler::runtime;
pub use self::wasmfn::handler::runtime::StreamError;
// `Context` and `FunctionError` are re-exported at this module's root by bindgen.

/// The ABI versions of wit/handler.wit the host runs guests of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// `wasmfn:handler@0.1`: no `tenant-id` in the context, no streaming.
    V0_1,
    /// `wasmfn:handler@0.2`, the current one.
    V0_2,
}

/// The names of `wasmfn:handler@0.1`'s imports, which the host links beside
/// the current version's (see `InstanceState::add_to_linker`).
pub const RUNTIME_0_1: &str = "wasmfn:handler/runtime@0.1.0";
/// The types-only interface of 0.1 (`function-error`, `context`).
pub const TYPES_0_1: &str = "wasmfn:handler/types@0.1.0";

/// The `context` record of wit/handler.wit as the host lowers it for a call,
/// borrowing every string (from the function's configuration, the request
/// and the instance) instead of copying each into a fresh `String` per
/// invocation, as the generated [`Context`] would. `Instance::new` checks
/// it against the guest's `handle` signature, so a change to the record in
/// the WIT that is not made here fails every instantiation.
///
/// A guest of the 0.1 ABI gets the same fields less `tenant-id`
/// ([`CallContext01`]).
#[derive(Clone, Copy, Debug, wasmtime::component::ComponentType, wasmtime::component::Lower)]
#[component(record)]
pub struct CallContext<'a> {
    #[component(name = "request-id")]
    pub request_id: &'a str,
    #[component(name = "function-name")]
    pub function_name: &'a str,
    #[component(name = "function-version")]
    pub function_version: &'a str,
    #[component(name = "invoked-function-arn")]
    pub invoked_function_arn: &'a str,
    #[component(name = "memory-limit-in-mb")]
    pub memory_limit_in_mb: u32,
    #[component(name = "deadline-ms")]
    pub deadline_ms: u64,
    #[component(name = "log-group-name")]
    pub log_group_name: &'a str,
    #[component(name = "log-stream-name")]
    pub log_stream_name: &'a str,
    #[component(name = "trace-id")]
    pub trace_id: Option<&'a str>,
    #[component(name = "client-context")]
    pub client_context: Option<&'a str>,
    #[component(name = "identity")]
    pub identity: Option<&'a str>,
    #[component(name = "tenant-id")]
    pub tenant_id: Option<&'a str>,
}

/// The `context` record of `wasmfn:handler@0.1`.
#[derive(Clone, Copy, Debug, wasmtime::component::ComponentType, wasmtime::component::Lower)]
#[component(record)]
pub struct CallContext01<'a> {
    #[component(name = "request-id")]
    pub request_id: &'a str,
    #[component(name = "function-name")]
    pub function_name: &'a str,
    #[component(name = "function-version")]
    pub function_version: &'a str,
    #[component(name = "invoked-function-arn")]
    pub invoked_function_arn: &'a str,
    #[component(name = "memory-limit-in-mb")]
    pub memory_limit_in_mb: u32,
    #[component(name = "deadline-ms")]
    pub deadline_ms: u64,
    #[component(name = "log-group-name")]
    pub log_group_name: &'a str,
    #[component(name = "log-stream-name")]
    pub log_stream_name: &'a str,
    #[component(name = "trace-id")]
    pub trace_id: Option<&'a str>,
    #[component(name = "client-context")]
    pub client_context: Option<&'a str>,
    #[component(name = "identity")]
    pub identity: Option<&'a str>,
}

impl<'a> CallContext<'a> {
    /// This context as a 0.1 guest takes it.
    pub fn to_0_1(self) -> CallContext01<'a> {
        CallContext01 {
            request_id: self.request_id,
            function_name: self.function_name,
            function_version: self.function_version,
            invoked_function_arn: self.invoked_function_arn,
            memory_limit_in_mb: self.memory_limit_in_mb,
            deadline_ms: self.deadline_ms,
            log_group_name: self.log_group_name,
            log_stream_name: self.log_stream_name,
            trace_id: self.trace_id,
            client_context: self.client_context,
            identity: self.identity,
        }
    }
}
