//! `wasmfn lambda`: the host as an AWS Lambda custom runtime (`bootstrap`).
//!
//! Lambda's Runtime API hands out events; `lambda_runtime` polls it (several
//! pollers at once under `AWS_LAMBDA_MAX_CONCURRENCY`, each invocation on its
//! own pooled instance), and every event goes through the same
//! funnel as a local one. Lambda itself prints START / END /
//! REPORT; the runtime prints only what the guest printed.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

use super::funnel::{Funnel, LogStyle};
use crate::function::{Function, InvokeRequest};

/// Serves events from the Runtime API at `AWS_LAMBDA_RUNTIME_API` until the
/// process is stopped.
pub async fn run(function: Arc<Function>) -> Result<(), lambda_runtime::Error> {
    // CloudWatch gets the guest's lines; Lambda adds START/END/REPORT.
    let funnel = Arc::new(Funnel::new(LogStyle::GuestOnly, None));
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let (function, funnel) = (function.clone(), funnel.clone());
        async move { handle(&funnel, &function, event).await }
    });
    lambda_runtime::run_concurrent(handler).await
}

async fn handle(
    funnel: &Funnel,
    function: &Arc<Function>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Diagnostic> {
    let (payload, ctx) = event.into_parts();
    let request = InvokeRequest {
        request_id: Some(ctx.request_id.clone()),
        trace_id: ctx.xray_trace_id.clone(),
        client_context: ctx
            .client_context
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok()),
        identity: ctx
            .identity
            .as_ref()
            .and_then(|i| serde_json::to_string(i).ok()),
        invoked_function_arn: Some(ctx.invoked_function_arn.clone()),
        deadline: Some(ctx.deadline()),
    };
    let invoked = funnel
        .invoke(function, payload.get().as_bytes(), request)
        .await
        .map_err(|throttled| Diagnostic {
            error_type: "TooManyRequestsException".into(),
            error_message: throttled.to_string(),
        })?;
    match invoked.invocation.result {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| invalid_response())?;
            RawValue::from_string(text).map_err(|_| invalid_response())
        }
        Err(error) => Err(Diagnostic {
            error_type: error.error_type,
            error_message: error.error_message,
        }),
    }
}

fn invalid_response() -> Diagnostic {
    Diagnostic {
        error_type: "Runtime.InvalidResponse".into(),
        error_message: "the function's response is not JSON, which Lambda requires".into(),
    }
}

/// Reports a failed start to `/runtime/init/error`, so that Lambda shows
/// the reason instead of a bare timeout.
pub async fn report_init_error(
    runtime_api: &str,
    error_type: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string();
    let stream = tokio::net::TcpStream::connect(runtime_api).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let request = http::Request::post("/2018-06-01/runtime/init/error")
        .header("host", runtime_api)
        .header("content-type", "application/json")
        .header("Lambda-Runtime-Function-Error-Type", error_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(std::io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let _ = response.into_body().collect().await;
    Ok(())
}
