//! Host-side bindings generated from `wit/handler.wit`, the single source of
//! the ABI. The guest SDK generates its side from the same file.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasmfn:handler/handler",
    // Store calls may wait on the network (the DynamoDB backend).
    imports: {
        "wasi:keyvalue": async,
    },
    with: {
        "wasi:keyvalue/store.bucket": crate::kv::Bucket,
    },
});

pub use self::wasmfn::handler::runtime;
// `Context` and `FunctionError` are re-exported at this module's root by bindgen.
