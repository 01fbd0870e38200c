//! `wasmfn lambda`: the host as an AWS Lambda custom runtime (`bootstrap`).
//!
//! Lambda's Runtime API hands out events; `lambda_runtime` polls it (several
//! pollers at once under `AWS_LAMBDA_MAX_CONCURRENCY`, each invocation on its
//! own pooled instance), and every event goes through the same
//! funnel as a local one. Lambda itself prints START / END /
//! REPORT; the runtime prints only what the guest printed.
//!
//! A function whose URL streams (`url: {invokeMode: RESPONSE_STREAM}`)
//! answers in Lambda's streaming mode (`Lambda-Runtime-Function-Response-Mode:
//! streaming`, chunked, as lambda_runtime sends it): the chunks go to the
//! Runtime API as the guest writes them, the guest's HTTP prelude becomes
//! lambda_runtime's metadata prelude, and an error after the first chunk is
//! sent as `Lambda-Runtime-Function-Error-Type` / `-Body` (lambda_runtime
//! writes these at the end of the chunked body, after declaring them in
//! `Trailer`). An error before the first chunk goes to `/error`, as a
//! buffered one does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use lambda_runtime::streaming::{Body as StreamBody, Response as StreamResponse};
use lambda_runtime::{service_fn, Diagnostic, FunctionResponse, LambdaEvent, MetadataPrelude};
use serde_json::value::RawValue;

use super::funnel::{Funnel, LogStyle};
use super::stream::{HttpPrelude, StreamedCall};
use crate::error::Refused;
use crate::function::{Function, InvokeRequest};

/// What the handler answers the Runtime API with.
type Answer = FunctionResponse<Box<RawValue>, StreamBody>;

/// Where the Runtime API is, from `AWS_LAMBDA_RUNTIME_API`: `host:port`, as
/// Lambda sets it, or an `http://host:port/prefix` URL, as local emulators
/// (cargo-lambda's `watch`) print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeApi {
    authority: String,
    prefix: String,
}

/// An `AWS_LAMBDA_RUNTIME_API` that is neither form.
#[derive(Debug, thiserror::Error)]
#[error("AWS_LAMBDA_RUNTIME_API is `{value}`, which is not the Runtime API's address: {why}. Set it to `host:port` (as Lambda does) or to an `http://host:port` URL")]
pub struct RuntimeApiError {
    value: String,
    why: String,
}

impl RuntimeApi {
    /// Parses the variable's value.
    pub fn parse(value: &str) -> Result<Self, RuntimeApiError> {
        let error = |why: &str| RuntimeApiError {
            value: value.to_string(),
            why: why.to_string(),
        };
        let uri: http::Uri = value.parse().map_err(|_| error("it does not parse"))?;
        if uri.scheme().is_some_and(|s| *s != http::uri::Scheme::HTTP) {
            return Err(error("the Runtime API is plain http"));
        }
        let authority = uri.authority().ok_or_else(|| error("it names no host"))?;
        if authority.port_u16().is_none() {
            return Err(error("it names no port"));
        }
        Ok(RuntimeApi {
            authority: authority.to_string(),
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The URL path of `path` (`/2018-06-01/...`) on this Runtime API.
    fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

/// Turns an event's `Lambda-Runtime-Deadline-Ms` into its deadline.
///
/// Lambda sends the deadline as Unix-epoch milliseconds. Some emulators
/// (cargo-lambda's `watch` sends `600000`) send the time left instead; a
/// deadline before this process started cannot be a real one, so it is
/// taken as relative, clamped to the function's own timeout, and the log
/// says so once.
struct Deadlines {
    started: SystemTime,
    timeout: Duration,
    warned: AtomicBool,
}

impl Deadlines {
    fn of(&self, header_ms: u64) -> SystemTime {
        let deadline = UNIX_EPOCH + Duration::from_millis(header_ms);
        if deadline >= self.started {
            return deadline;
        }
        let left = Duration::from_millis(header_ms).min(self.timeout);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the Runtime API's Lambda-Runtime-Deadline-Ms ({header_ms}) is before this process started, so it is not a Unix time: taking it as the milliseconds left, at most the function's timeout of {:.0} s",
                self.timeout.as_secs_f64()
            );
        }
        SystemTime::now() + left
    }
}

/// Serves events from the Runtime API at `AWS_LAMBDA_RUNTIME_API` until the
/// process is stopped. `timeout` is the function's own, which bounds an
/// event whose deadline comes as the time left (see [`Deadlines`]).
pub async fn run(function: Arc<Function>, timeout: Duration) -> Result<(), lambda_runtime::Error> {
    // CloudWatch gets the guest's lines; Lambda adds START/END/REPORT.
    let funnel = Arc::new(Funnel::new(LogStyle::GuestOnly, None));
    let deadlines = Arc::new(Deadlines {
        started: SystemTime::now(),
        timeout,
        warned: AtomicBool::new(false),
    });
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let (function, funnel, deadlines) = (function.clone(), funnel.clone(), deadlines.clone());
        async move { handle(&funnel, &function, &deadlines, event).await }
    });
    lambda_runtime::run_concurrent(handler).await
}

async fn handle(
    funnel: &Arc<Funnel>,
    function: &Arc<Function>,
    deadlines: &Deadlines,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Answer, Diagnostic> {
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
        deadline: Some(deadlines.of(ctx.deadline)),
        tenant_id: ctx.tenant_id.clone(),
    };
    if function.config().url_streams {
        let event = Bytes::copy_from_slice(payload.get().as_bytes());
        return stream(funnel, function, event, request).await;
    }
    let invoked = funnel
        .invoke(function, payload.get().as_bytes(), request)
        .await
        .map_err(refused)?;
    match invoked.invocation.result {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| invalid_response())?;
            let raw = RawValue::from_string(text).map_err(|_| invalid_response())?;
            Ok(FunctionResponse::BufferedResponse(raw))
        }
        Err(error) => Err(diagnostic(error)),
    }
}

/// Streams the invocation's response to the Runtime API.
async fn stream(
    funnel: &Arc<Funnel>,
    function: &Arc<Function>,
    event: Bytes,
    request: InvokeRequest,
) -> Result<Answer, Diagnostic> {
    let mut call = StreamedCall::spawn(funnel.clone(), function.clone(), event, request);
    let prelude = call.read_prelude().await;
    if call.is_over() {
        // Nothing written: an error is the invocation's, as if buffered.
        match call.finish().await {
            Some(Ok(invoked)) => invoked.invocation.result.map_err(diagnostic)?,
            Some(Err(e)) => return Err(refused(e)),
            None => return Err(lost()),
        };
        return Ok(FunctionResponse::StreamingResponse(StreamResponse {
            metadata_prelude: metadata(prelude.unwrap_or_default()),
            stream: StreamBody::empty(),
        }));
    }
    let (mut tx, body) = lambda_runtime::streaming::channel();
    tokio::spawn(async move {
        while let Some(chunk) = call.next().await {
            if tx.send_data(chunk).await.is_err() {
                // The Runtime API went away; the guest is told `closed`.
                break;
            }
        }
        let error = match call.finish().await {
            Some(Ok(invoked)) => invoked.invocation.result.err().map(|e| e.to_json()),
            Some(Err(e)) => Some(e.to_string()),
            None => Some(lost().error_message),
        };
        if let Some(error) = error {
            tx.send_error(lambda_runtime_api_client::Error::new(error));
        }
    });
    Ok(FunctionResponse::StreamingResponse(StreamResponse {
        metadata_prelude: metadata(prelude.unwrap_or_default()),
        stream: body,
    }))
}

/// lambda_runtime's prelude from the guest's.
fn metadata(prelude: HttpPrelude) -> MetadataPrelude {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &prelude.headers {
        match (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            (Ok(k), Ok(v)) => {
                headers.append(k, v);
            }
            _ => tracing::warn!("dropping the stream prelude's header `{k}`: not valid HTTP"),
        }
    }
    MetadataPrelude {
        status_code: http::StatusCode::from_u16(prelude.status_code.unwrap_or(200))
            .unwrap_or(http::StatusCode::OK),
        headers,
        cookies: prelude.cookies,
    }
}

fn diagnostic(error: crate::error::FunctionError) -> Diagnostic {
    Diagnostic {
        error_type: error.error_type,
        error_message: error.error_message,
    }
}

fn refused(refused: Refused) -> Diagnostic {
    let error_type = match refused {
        Refused::Throttled(_) => "TooManyRequestsException",
        Refused::Tenant(_) => "InvalidParameterValueException",
    };
    Diagnostic {
        error_type: error_type.into(),
        error_message: refused.to_string(),
    }
}

fn lost() -> Diagnostic {
    Diagnostic {
        error_type: "Runtime.Unknown".into(),
        error_message: "the invocation ended without a result".into(),
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
    runtime_api: &RuntimeApi,
    error_type: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string();
    let stream = tokio::net::TcpStream::connect(&runtime_api.authority).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let request = http::Request::post(runtime_api.path("/2018-06-01/runtime/init/error"))
        .header("host", &runtime_api.authority)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_api_is_host_port_or_an_http_url() {
        let plain = RuntimeApi::parse("127.0.0.1:9001").unwrap();
        assert_eq!(plain.path("/2018-06-01/x"), "/2018-06-01/x");
        let url = RuntimeApi::parse("http://127.0.0.1:9000/.rt").unwrap();
        assert_eq!(url.authority, "127.0.0.1:9000");
        assert_eq!(url.path("/2018-06-01/x"), "/.rt/2018-06-01/x");
        for bad in [
            "",
            "not a url",
            "https://127.0.0.1:9000",
            "http://localhost",
            "localhost",
        ] {
            let message = RuntimeApi::parse(bad).unwrap_err().to_string();
            assert!(message.contains("AWS_LAMBDA_RUNTIME_API"), "{message}");
        }
    }

    #[test]
    fn a_deadline_before_the_start_is_time_left_clamped_to_the_timeout() {
        let started = SystemTime::now();
        let deadlines = Deadlines {
            started,
            timeout: Duration::from_secs(3),
            warned: AtomicBool::new(false),
        };
        let epoch_ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let real = started + Duration::from_secs(60);
        assert_eq!(epoch_ms(deadlines.of(epoch_ms(real))), epoch_ms(real));
        let left = |ms| deadlines.of(ms).duration_since(SystemTime::now()).unwrap();
        assert!(left(1_000) <= Duration::from_secs(1) && left(1_000) > Duration::from_millis(900));
        assert!(
            left(600_000) <= Duration::from_secs(3),
            "clamped to the timeout"
        );
    }
}
