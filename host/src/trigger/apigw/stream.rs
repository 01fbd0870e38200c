//! A streamed HTTP response, from a Function URL in `RESPONSE_STREAM` mode
//! or a REST API route with `responseTransferMode: STREAM`: the function's
//! response goes to the client as a chunked HTTP response, each chunk as it
//! is written.
//!
//! A streaming function sets the status and headers the way Lambda's HTTP
//! integration reads them (`application/vnd.awslambda.http-integration-response`):
//! its first bytes are a JSON prelude, `{"statusCode", "headers",
//! "cookies"}`, then eight NUL bytes, then the body. A response without a
//! prelude in its first 16 KB is sent as it is, `200` and
//! `application/octet-stream`, as Lambda sends a stream that sets nothing.
//! A function error before anything was written is a `502`, as when
//! buffered; after, the stream just ends (the status is already out).

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::{gateway_error, refused};
use crate::function::{Function, InvokeRequest};
use crate::trigger::stream::{Ended, Framing, HttpPrelude, StreamedCall};
use crate::trigger::{full, Body, Service};

/// Invokes `function` with `event`, streaming its response to the client.
pub async fn respond(
    service: &Service,
    function: Arc<Function>,
    event: Bytes,
    request: InvokeRequest,
) -> Response<Body> {
    let name = function.config().name.clone();
    let mut call = StreamedCall::spawn(service.funnel.clone(), function, event, request);
    let prelude = call.read_prelude().await;
    if call.is_over() {
        // Nothing more to stream: a failure before the first byte is the
        // URL's 502, as when buffered.
        return match call.finish().await {
            Some(Ok(invoked)) => match invoked.invocation.result {
                Err(error) => {
                    tracing::error!(function = %name, "function error behind a streamed HTTP response: {error}");
                    gateway_error(StatusCode::BAD_GATEWAY, "Internal Server Error")
                }
                Ok(_) => head(prelude, full(Bytes::new())),
            },
            Some(Err(e)) => refused(&e),
            None => gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        };
    }
    head(prelude, call.into_body(Raw { function: name }))
}

/// The response head the prelude asks for, or, without one, `200` and
/// `application/octet-stream`.
fn head(prelude: Option<HttpPrelude>, body: Body) -> Response<Body> {
    let prelude = prelude.unwrap_or_default();
    let mut builder = Response::builder().status(prelude.status_code.unwrap_or(200));
    if !prelude
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        builder = builder.header("content-type", "application/octet-stream");
    }
    for (k, v) in &prelude.headers {
        builder = builder.header(k, v);
    }
    for cookie in &prelude.cookies {
        builder = builder.header("set-cookie", cookie);
    }
    builder.body(body).unwrap_or_else(|e| {
        tracing::error!("the function's stream prelude is not a valid HTTP head: {e}");
        gateway_error(StatusCode::BAD_GATEWAY, "Internal Server Error")
    })
}

/// The body's bytes as the function wrote them.
struct Raw {
    function: String,
}

impl Framing for Raw {
    fn chunk(&mut self, chunk: Bytes) -> Bytes {
        chunk
    }

    fn end(&mut self, ended: Ended) -> Option<Bytes> {
        if let Some(Ok(invoked)) = ended {
            if let Err(error) = invoked.invocation.result {
                tracing::error!(function = %self.function, "function error while streaming an HTTP response: {error}");
            }
        }
        None
    }
}
