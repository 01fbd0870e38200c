//! The wasmfn guest SDK: write AWS Lambda handlers in Rust and run them as
//! WebAssembly components on the wasmfn host.
//!
//! A handler is an ordinary function from an event to a response. Any serde
//! types work; the typed events of the `aws_lambda_events` crate are
//! re-exported under [`events`] behind cargo features (`apigw` is on by
//! default).
//!
//! ```
//! use wasmfn_guest::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
//! use wasmfn_guest::{Context, Error};
//!
//! #[wasmfn_guest::handler]
//! fn handler(event: ApiGatewayProxyRequest, ctx: Context) -> Result<ApiGatewayProxyResponse, Error> {
//!     let name = event
//!         .query_string_parameters
//!         .first("name")
//!         .unwrap_or("world")
//!         .to_string();
//!     // aws_lambda_events types are #[non_exhaustive]: start from the default.
//!     let mut response = ApiGatewayProxyResponse::default();
//!     response.status_code = 200;
//!     response.body = Some(format!("hello, {name}! ({})", ctx.request_id).into());
//!     Ok(response)
//! }
//!
//! // The same function is plain Rust, so it unit-tests natively:
//! let response = handler(ApiGatewayProxyRequest::default(), Context::for_test("hello")).unwrap();
//! assert_eq!(response.status_code, 200);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (the crate is
//! a `cdylib`) and run it with `wasmfn invoke target/wasm32-wasip2/release/<name>.wasm`.
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
//! * A panic is reported to the host with its message before the guest
//!   aborts, so the caller sees `Runtime.Unhandled` with what went wrong.
//!
//! Globals persist between invocations while the host keeps the instance
//! warm, as they do between warm Lambda invocations.

pub mod batch;
pub mod config;
mod context;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
mod error;
pub mod logging;
pub mod metrics;
pub mod response;
pub mod retry;

pub use context::Context;
pub use error::Error;
pub use wasmfn_guest_macros::handler;

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
    });
}

/// What the `#[handler]` expansion calls. Not a stable API.
#[doc(hidden)]
pub mod __private;
