//! The Lambda Invoke API, as boto3 and the aws CLI speak it:
//! `POST /2015-03-31/functions/{FunctionName}/invocations` (`Invoke`), and
//! `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`
//! (`InvokeWithResponseStream`, served by [`super::invoke_stream`]).
//!
//! | request | answer |
//! |---|---|
//! | `X-Amz-Invocation-Type: RequestResponse` (default) | 200 + payload; a function error is 200 with `X-Amz-Function-Error: Unhandled` |
//! | `Event` | 202, once the event is durable in the queue |
//! | `DryRun` | 204 |
//! | `X-Amz-Log-Type: Tail` | `X-Amz-Log-Result`: base64 of the last 4 KB of the log |
//! | `X-Amz-Client-Context` (base64 JSON) | the guest's `ctx.client_context` |
//! | `X-Amz-Tenant-Id` | the tenant, on a function with `tenantIsolationMode: PER_TENANT`: its own instances, and `ctx.tenant_id` |
//! | tenant id missing (isolated function) or given (other functions) | 400 `InvalidParameterValueException` |
//! | tenant id not 1–256 of `[a-zA-Z0-9._:/=+\-@ ]` | 400 `ValidationException` |
//! | `?Qualifier=` `$LATEST`, or the function's version | runs it; other versions and aliases: 404 `ResourceNotFoundException` |
//! | `?Qualifier=$LATEST.PUBLISHED` | 400 `NoPublishedVersionException` unless the function has a published `version` |
//! | unknown function | 404 `ResourceNotFoundException` |
//! | payload over 6 MB (1 MB for `Event`) | 413 `RequestEntityTooLargeException`, with Lambda's messages |
//! | over reserved concurrency | 429 `TooManyRequestsException` |
//! | streamed (`InvokeWithResponseStream`) | 200 `application/vnd.amazon.eventstream`: `PayloadChunk` events as the function writes, then `InvokeComplete` |
//!
//! Service errors carry their type in `x-amzn-ErrorType`, which is where
//! botocore looks for it to raise the matching exception class.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use super::{empty, full, Body, Service};
use crate::aws::{DEFAULT_REGION, LOCAL_ACCOUNT_ID};
use crate::error::{Refused, TenantError};
use crate::function::{Function, InvokeRequest};
use crate::trigger::queue::Job;

/// Largest synchronous payload, as on Lambda.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous payload: 1 MB since October 2025 (it was 256 KB).
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;
/// The error code AWS answers an oversized payload with. botocore's model
/// names the exception `RequestTooLargeException`, but the service sends
/// this code, which is what code written against AWS matches on (and what
/// botocore then raises as a `ClientError` with that code).
pub const ERROR_TOO_LARGE: &str = "RequestEntityTooLargeException";
/// How much of the log `X-Amz-Log-Result` carries.
pub const LOG_TAIL_BYTES: usize = 4096;

/// An AWS service error: the status, `x-amzn-ErrorType`, and a JSON body
/// with the message.
pub fn aws_error(status: StatusCode, error_type: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({ "Type": "User", "message": message }),
        &[("x-amzn-ErrorType", error_type)],
    )
}

fn json_response(
    status: StatusCode,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", uuid::Uuid::new_v4().to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(full(body.to_string()))
        .expect("a valid response")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Synchronous (the default).
    RequestResponse,
    /// Queued; answered 202 once durable.
    Event,
    /// Validation only.
    DryRun,
}

/// The path prefix of the Invoke API.
pub const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
/// The path prefix of `InvokeWithResponseStream`.
pub const STREAM_PREFIX: &str = "/2021-11-15/functions/";

/// An Invoke API error, before it becomes a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `x-amzn-ErrorType`.
    pub error_type: &'static str,
    /// The message.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, error_type: &'static str, message: String) -> Self {
        ApiError {
            status,
            error_type,
            message,
        }
    }

    /// The response Lambda would send.
    pub fn response(&self) -> Response<Body> {
        aws_error(self.status, self.error_type, &self.message)
    }
}

/// What an Invoke API request asks for, read from its method, path, query
/// and headers (everything but the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeHead {
    /// The function name, URL-decoded.
    pub function: String,
    /// `?Qualifier=`.
    pub qualifier: Option<String>,
    /// `X-Amz-Invocation-Type`.
    pub kind: InvocationType,
    /// `X-Amz-Client-Context`, decoded to JSON text.
    pub client_context: Option<String>,
    /// `X-Amzn-Trace-Id`.
    pub trace_id: Option<String>,
    /// `X-Amz-Log-Type: Tail`.
    pub log_tail: bool,
    /// `X-Amz-Tenant-Id`.
    pub tenant_id: Option<String>,
    /// `InvokeWithResponseStream` rather than `Invoke`.
    pub streamed: bool,
}

/// Parses an Invoke API request's head. `Ok(None)`: the path is not the
/// Invoke API's, and some other route may take it.
pub fn parse_head(
    method: &http::Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<InvokeHead>, ApiError> {
    let (rest, streamed, operation) = if let Some(rest) = path.strip_prefix(INVOKE_PREFIX) {
        (rest, false, "/invocations")
    } else if let Some(rest) = path.strip_prefix(STREAM_PREFIX) {
        (rest, true, "/response-streaming-invocations")
    } else {
        return Ok(None);
    };
    let name = match rest.strip_suffix(operation) {
        Some(name) if !name.is_empty() && !name.contains('/') => name,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                format!("no Lambda API operation at {path}; the Invoke API is POST {INVOKE_PREFIX}{{FunctionName}}/invocations, and InvokeWithResponseStream POST {STREAM_PREFIX}{{FunctionName}}/response-streaming-invocations"),
            ))
        }
    };
    if method != http::Method::POST {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowedException",
            format!("{method} is not allowed here; invoke with POST"),
        ));
    }
    let qualifier = query.and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("Qualifier="))
            .map(crate::trigger::apigw::router::decode)
    });
    let kind = match header(headers, "x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") if !streamed => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) if streamed => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                format!(
                    "X-Amz-Invocation-Type `{other}` is not one of RequestResponse, DryRun, which InvokeWithResponseStream takes"
                ),
            ))
        }
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                format!(
                    "X-Amz-Invocation-Type `{other}` is not one of RequestResponse, Event, DryRun"
                ),
            ))
        }
    };
    let client_context = match header(headers, "x-amz-client-context") {
        None => None,
        Some(encoded) => Some(decode_client_context(encoded).map_err(|why| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("X-Amz-Client-Context must be base64-encoded JSON: {why}"),
            )
        })?),
    };
    Ok(Some(InvokeHead {
        function: crate::trigger::apigw::router::decode(name),
        qualifier,
        kind,
        client_context,
        trace_id: header(headers, "x-amzn-trace-id").map(str::to_string),
        log_tail: header(headers, "x-amz-log-type") == Some("Tail"),
        tenant_id: header(headers, "x-amz-tenant-id").map(str::to_string),
        streamed,
    }))
}

/// The payload as the function gets it: no body is `{}`, as on Lambda;
/// anything else must be JSON.
pub fn check_payload(payload: Bytes) -> Result<Bytes, ApiError> {
    // boto3 sends no body when Payload is omitted; Lambda treats it as `{}`.
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        Ok(_) => Ok(payload),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {e}"),
        )),
    }
}

/// The function an Invoke API request names, with its qualifier checked,
/// or the answer Lambda gives when there is none.
pub fn resolve(service: &Service, head: &InvokeHead) -> Result<(String, Arc<Function>), ApiError> {
    let Some((name, function)) = service.function(&head.function) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!(
                "Function not found: arn:aws:lambda:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:function:{}",
                head.function
            ),
        ));
    };
    if let Some(q) = &head.qualifier {
        check_qualifier(q, &function)?;
    }
    Ok((name, function))
}

/// A qualifier names the function's one version: `$LATEST`, the version
/// its manifest gives, or `$LATEST.PUBLISHED`, the newest published
/// version, which a function at `$LATEST` does not have.
fn check_qualifier(q: &str, function: &Function) -> Result<(), ApiError> {
    let version = &function.config().version;
    // botocore's NumericLatestPublishedOrAliasQualifier.
    let well_formed = (1..=128).contains(&q.len())
        && q.chars()
            .all(|c| c.is_ascii_alphanumeric() || "$_-.".contains(c))
        && (!q.contains('.') || q == "$LATEST.PUBLISHED");
    if !well_formed {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            format!("1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: \\$(LATEST(\\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"),
        ));
    }
    match q {
        "$LATEST" => Ok(()),
        "$LATEST.PUBLISHED" if version != "$LATEST" => Ok(()),
        "$LATEST.PUBLISHED" => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "NoPublishedVersionException",
            format!(
                "The function {} has no published versions available; give it a `version` in the manifest, or invoke $LATEST.",
                function.config().arn()
            ),
        )),
        q if q == version => Ok(()),
        q => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {}:{q}", function.config().arn()),
        )),
    }
}

/// Reads the payload up to Lambda's limit for `kind`, answering as AWS
/// does past it.
pub async fn read_payload(body: Incoming, kind: InvocationType) -> Result<Bytes, ApiError> {
    // An async payload is read up to the synchronous limit, so that its
    // error can say how large it was, as Lambda's does.
    let collected = match Limited::new(body, MAX_SYNC_PAYLOAD).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ERROR_TOO_LARGE,
                format!(
                    "Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation"
                ),
            ))
        }
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("Could not read the request body: {e}"),
            ))
        }
    };
    if kind == InvocationType::Event && collected.len() > MAX_ASYNC_PAYLOAD {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ERROR_TOO_LARGE,
            format!(
                "{} byte payload is too large for the Event invocation type (limit {MAX_ASYNC_PAYLOAD} bytes)",
                collected.len()
            ),
        ));
    }
    check_payload(collected)
}

/// The answer to an invocation refused before it ran.
pub fn refused(refused: &Refused) -> Response<Body> {
    match refused {
        Refused::Throttled(_) => json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            }),
            &[("x-amzn-ErrorType", "TooManyRequestsException")],
        ),
        Refused::Tenant(e @ TenantError::Mismatch { .. }) => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &e.to_string(),
        ),
        Refused::Tenant(e @ TenantError::Invalid(_)) => aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &e.to_string(),
        ),
    }
}

/// Handles one `Invoke` request (`InvokeWithResponseStream` is
/// [`super::invoke_stream::invoke`]'s).
pub async fn invoke(service: &Service, head: InvokeHead, body: Incoming) -> Response<Body> {
    let (name, function) = match resolve(service, &head) {
        Ok(found) => found,
        Err(e) => return e.response(),
    };
    let kind = head.kind;
    let payload = match read_payload(body, kind).await {
        Ok(payload) => payload,
        Err(e) => return e.response(),
    };
    // Lambda checks the tenant before it takes an event, sync or not.
    if let Err(e) = function.check_tenant(head.tenant_id.as_deref()) {
        return refused(&Refused::Tenant(e));
    }
    let client_context = head.client_context;
    let request_id = uuid::Uuid::new_v4().to_string();
    let version = function.config().version.clone();
    match kind {
        InvocationType::DryRun => dry_run(&request_id),
        InvocationType::Event => {
            let job = Job {
                request_id: request_id.clone(),
                function: name.to_string(),
                payload: String::from_utf8_lossy(&payload).into_owned(),
                client_context,
                tenant_id: head.tenant_id,
                attempts: 0,
            };
            match service.queue.enqueue(job).await {
                Ok(()) => Response::builder()
                    .status(StatusCode::ACCEPTED)
                    .header("x-amzn-RequestId", &request_id)
                    .body(empty())
                    .expect("a valid response"),
                Err(e) => aws_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceException",
                    &format!("cannot queue the event durably: {e}"),
                ),
            }
        }
        InvocationType::RequestResponse => {
            let request = InvokeRequest {
                request_id: Some(request_id.clone()),
                client_context,
                trace_id: head.trace_id,
                tenant_id: head.tenant_id,
                ..InvokeRequest::default()
            };
            let invoked = match service.funnel.invoke(&function, &payload, request).await {
                Ok(invoked) => invoked,
                Err(e) => return refused(&e),
            };
            let log = invoked.log;
            let mut builder = Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("x-amzn-RequestId", &request_id)
                .header("X-Amz-Executed-Version", &version);
            if head.log_tail {
                builder = builder.header("X-Amz-Log-Result", log_tail(&log));
            }
            let body = match invoked.invocation.result {
                Ok(payload) => payload,
                Err(error) => {
                    builder = builder.header("X-Amz-Function-Error", "Unhandled");
                    error.to_json().into_bytes()
                }
            };
            builder.body(full(body)).expect("a valid response")
        }
    }
}

/// The answer to a `DryRun` that passed its checks: 204, no body.
pub fn dry_run(request_id: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("x-amzn-RequestId", request_id)
        .body(empty())
        .expect("a valid response")
}

/// The last 4 KB of an invocation's log, base64-encoded: `X-Amz-Log-Result`
/// and `InvokeComplete.LogResult`.
pub fn log_tail(log: &str) -> String {
    let tail = &log.as_bytes()[log.len().saturating_sub(LOG_TAIL_BYTES)..];
    base64::engine::general_purpose::STANDARD.encode(tail)
}

/// Decodes `X-Amz-Client-Context`: base64 of a JSON object.
pub fn decode_client_context(encoded: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("not base64 ({e})"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not JSON ({e})"))?;
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    Ok(value.to_string())
}
