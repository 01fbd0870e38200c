//! Host-side bindings generated from `wit/handler.wit`, the single source of
//! the ABI. The guest SDK generates its side from the same file.
//!
//! May import: `crate::capability` (the interfaces it generates itself).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasmfn:handler/handler",
    // The key-value interfaces are async, so their linker needs `Send` state.
    require_store_data_send: true,
    // The key-value capability generates its own interfaces, so that it
    // never needs this module.
    with: {
        "wasi:keyvalue/store": crate::capability::kv::generated::wasi::keyvalue::store,
        "wasi:keyvalue/atomics": crate::capability::kv::generated::wasi::keyvalue::atomics,
    },
});

pub use self::wasmfn::handler::runtime;
// `Context` and `FunctionError` are re-exported at this module's root by bindgen.

/// The `context` record of wit/handler.wit as the host lowers it for a call,
/// borrowing every string (from the function's configuration, the request
/// and the instance) instead of copying each into a fresh `String` per
/// invocation, as the generated [`Context`] would. `Instance::new` checks
/// it against the guest's `handle` signature, so a change to the record in
/// the WIT that is not made here fails every instantiation.
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
}
