//! The wasmfn guest SDK: write AWS Lambda handlers in Rust and run them as
//! WebAssembly components on the wasmfn host.
//!
//! A handler is an ordinary function from an event to a response. Any serde
//! types work; the typed events of the `aws_lambda_events` crate are
//! re-exported under [`events`] behind cargo features (`apigw` is on by
//! default, `all-events` turns on every family).
//!
//! A complete HTTP function, and its unit test:
//!
//! ```
//! use wasmfn_guest::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
//! use wasmfn_guest::response::from_result;
//! use wasmfn_guest::{Context, Error, Response};
//!
//! #[wasmfn_guest::handler]
//! fn handler(event: ApiGatewayProxyRequest, ctx: Context) -> Result<ApiGatewayProxyResponse, Error> {
//!     // Errors become JSON responses; `.cors()` adds the CORS headers.
//!     Ok(from_result(route(&event, &ctx)).cors().into())
//! }
//!
//! fn route(event: &ApiGatewayProxyRequest, ctx: &Context) -> Result<Response, Error> {
//!     let id = event
//!         .path_parameters
//!         .get("id")
//!         .ok_or_else(|| Error::http(400, "the path needs an id"))?;
//!     // One JSON log line with the request id and function name.
//!     log::info!(id = id.as_str(); "lookup");
//!     if id == "0" {
//!         return Err(Error::http(404, format!("item {id} not found")));
//!     }
//!     Ok(Response::json(200, &serde_json::json!({"id": id, "requestId": ctx.request_id})))
//! }
//!
//! // The same function is plain Rust, so it unit-tests natively:
//! let mut event = ApiGatewayProxyRequest::default();
//! event.path_parameters.insert("id".into(), "7".into());
//! let response = handler(event.clone(), Context::for_test("items")).unwrap();
//! assert_eq!(response.status_code, 200);
//! event.path_parameters.insert("id".into(), "0".into());
//! assert_eq!(handler(event, Context::for_test("items")).unwrap().status_code, 404);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (the crate is
//! a `cdylib`, plus an `rlib` for native tests) and run it with
//! `wasmfn invoke target/wasm32-wasip2/release/<name>.wasm`, or start from
//! `wasmfn new <name> --template hello|api|s3|sqs|dynamodb|schedule`.
//!
//! What the attribute does:
//!
//! * On `wasm32`, it exports the function as `handle` from the
//!   `wasmfn:handler` world of `wit/handler.wit`: the event bytes are
//!   deserialized into the parameter's type, the result is serialized back
//!   to JSON, and an `Err` becomes Lambda's error shape with
//!   [`Error::error_type`] as `errorType`.
//! * `#[handler(init = setup)]` names a `fn setup() -> Result<(), E>` that
//!   runs once per instance before its first event (Lambda's init phase).
//! * `async fn` handlers work too; they are driven to completion on the
//!   instance's single thread.
//! * `#[handler(streaming)]` takes `fn(event: E, out: &mut ResponseStream,
//!   ctx: Context) -> Result<(), E>`: a handler that streams its response
//!   as it writes it (Lambda's response streaming; see [`stream`]). Every
//!   handler is also exported as `handle-stream`, so that a buffered one
//!   answers a streamed invocation in one chunk.
//! * A panic is reported to the host with its message before the guest
//!   aborts, so the caller sees `Runtime.Unhandled` with what went wrong.
//! * Around each invocation it installs the JSON logger ([`logging`]), ties
//!   log lines to the request id and flushes [`metrics`].
//!
//! The rest of the toolbox: [`response`] (HTTP responses for every HTTP
//! source, errors as JSON), [`batch`] (partial batch responses),
//! `dynamodb` (stream images as values, feature `dynamodb`), [`config`]
//! (typed environment, every missing variable reported), [`kv`] (the
//! key-value stores granted to the function), [`retry`]
//! (backoff with jitter), [`metrics`] (CloudWatch EMF) and [`snapstart`]
//! (SnapStart's before-snapshot and after-restore hooks). On wasm, a cache
//! of freed small blocks ([`alloc_cache`]) is the global allocator.
//!
//! Globals persist between invocations while the host keeps the instance
//! warm, as they do between warm Lambda invocations.

pub mod alloc_cache;
pub mod batch;
pub mod config;
mod context;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
mod error;
pub mod kv;
pub mod logging;
pub mod metrics;
pub mod response;
pub mod retry;
pub mod snapstart;
pub mod stream;

pub use context::Context;
pub use error::Error;
pub use wasmfn_guest_macros::handler;

/// A blocking HTTP client on `wasi:http/outgoing-handler` (feature
/// `http-client`; it is the maintained `waki` crate). The host refuses any
/// origin missing from the function's `allowedOutboundHosts`: the request
/// then fails with `HttpRequestDenied`.
///
/// ```ignore
/// let response = wasmfn_guest::http_client::Client::new()
///     .get("https://api.example.com/items")
///     .send()?;
/// let items: serde_json::Value = serde_json::from_slice(&response.body()?)?;
/// ```
#[cfg(all(feature = "http-client", target_family = "wasm"))]
pub use waki as http_client;

/// Small blocks freed by a warm call are reused by the next one instead of
/// going through wasi-libc's allocator (see [`alloc_cache`]).
#[cfg(all(
    feature = "alloc-cache",
    target_family = "wasm",
    not(target_feature = "atomics")
))]
#[global_allocator]
static ALLOCATOR: alloc_cache::CachingAlloc<std::alloc::System> =
    alloc_cache::CachingAlloc::new(std::alloc::System);

/// Re-exported so that handlers need no direct dependency.
pub use log;
pub use response::Response;
/// Re-exported so that handlers need no direct dependency.
pub use serde;
/// Re-exported so that handlers need no direct dependency.
pub use serde_json;

/// Typed Lambda events, from the `aws_lambda_events` crate.
#[cfg(feature = "aws_lambda_events")]
pub mod events {
    pub use aws_lambda_events::encodings;
    pub use aws_lambda_events::event::*;
    /// The `http` crate the API Gateway, ALB and Function URL events use.
    #[cfg(any(feature = "apigw", feature = "alb", feature = "lambda_function_urls"))]
    pub use aws_lambda_events::http;
}

/// Bindings generated from `wit/handler.wit`, the single source of the ABI.
#[cfg(target_family = "wasm")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "wasmfn:handler/handler",
        pub_export_macro: true,
        export_macro_name: "__export_handler_world",
        default_bindings_module: "::wasmfn_guest::bindings",
        // The wasi:keyvalue imports are generated here too: no other crate
        // of this guest provides them.
        generate_all,
    });
}

/// What the `#[handler]` expansion calls. Not a stable API.
#[doc(hidden)]
pub mod __private;
