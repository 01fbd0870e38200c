//! `InvokeWithResponseStream`: the response as AWS event-stream messages,
//! each chunk a `PayloadChunk` event as soon as the function writes it, and
//! a last `InvokeComplete` event saying how the invocation ended.
//!
//! Every message carries `:event-type`, `:message-type: event` and
//! `:content-type`: the AWS SDK for Rust requires all three (botocore
//! tolerates their absence). A function error or a timeout after the first
//! chunk cannot change the status already sent, so it arrives in
//! `InvokeComplete` as `ErrorCode` (the error's `errorType`, e.g.
//! `Sandbox.Timedout`) and `ErrorDetails` (Lambda's error body, the JSON an
//! `Invoke` would have answered). `X-Amz-Log-Type: Tail` puts the log's
//! last 4 KB in `InvokeComplete.LogResult`.

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use super::invoke_api::{
    dry_run, log_tail, read_payload, refused, resolve, InvocationType, InvokeHead,
};
use super::stream::{Ended, Framing, StreamedCall};
use super::{Body, Service};
use crate::function::InvokeRequest;

/// The content type of an event-stream response.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// Serves one `InvokeWithResponseStream`.
pub async fn invoke(service: &Service, head: InvokeHead, body: Incoming) -> Response<Body> {
    let (_, function) = match resolve(service, &head) {
        Ok(found) => found,
        Err(e) => return e.response(),
    };
    let payload = match read_payload(body, head.kind).await {
        Ok(payload) => payload,
        Err(e) => return e.response(),
    };
    if let Err(e) = function.check_tenant(head.tenant_id.as_deref()) {
        return refused(&e.into());
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let version = function.config().version.clone();
    if head.kind == InvocationType::DryRun {
        return dry_run(&request_id);
    }
    let request = InvokeRequest {
        request_id: Some(request_id.clone()),
        client_context: head.client_context,
        trace_id: head.trace_id,
        tenant_id: head.tenant_id,
        ..InvokeRequest::default()
    };
    let mut call = StreamedCall::spawn(service.funnel.clone(), function, payload, request);
    if let Err(e) = call.started().await {
        return refused(&e);
    }
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", EVENT_STREAM)
        .header("x-amzn-RequestId", &request_id)
        .header("X-Amz-Executed-Version", &version)
        .body(call.into_body(EventStream {
            log_tail: head.log_tail,
        }))
        .expect("a valid response")
}

/// Frames chunks as `PayloadChunk` events and the end as `InvokeComplete`.
struct EventStream {
    log_tail: bool,
}

impl Framing for EventStream {
    fn chunk(&mut self, chunk: Bytes) -> Bytes {
        // One guest write can be larger than an event-stream message may
        // be (16 MB); it goes out as several events, back to back.
        let mut out = Vec::with_capacity(chunk.len() + 128);
        let mut rest = chunk;
        while !rest.is_empty() {
            let piece = rest.split_to(rest.len().min(MAX_EVENT_PAYLOAD));
            write_event(&mut out, "PayloadChunk", "application/octet-stream", piece);
        }
        Bytes::from(out)
    }

    fn end(&mut self, ended: Ended) -> Option<Bytes> {
        let mut complete = json!({});
        match ended {
            Some(Ok(invoked)) => {
                if let Err(error) = &invoked.invocation.result {
                    complete["ErrorCode"] = error.error_type.clone().into();
                    complete["ErrorDetails"] = error.to_json().into();
                }
                if self.log_tail {
                    complete["LogResult"] = log_tail(&invoked.log).into();
                }
            }
            // Refusals are answered before the stream starts; this is a
            // task that died.
            Some(Err(e)) => {
                complete["ErrorCode"] = "ServiceException".into();
                complete["ErrorDetails"] = e.to_string().into();
            }
            None => {
                complete["ErrorCode"] = "ServiceException".into();
                complete["ErrorDetails"] = "the invocation ended without a result".into();
            }
        }
        let mut out = Vec::new();
        write_event(
            &mut out,
            "InvokeComplete",
            "application/json",
            Bytes::from(complete.to_string()),
        );
        Some(Bytes::from(out))
    }
}

/// The largest payload put in one event: well inside the format's 16 MB
/// message limit.
const MAX_EVENT_PAYLOAD: usize = 1 << 20;

/// Appends one event-stream message to `out`.
fn write_event(
    out: &mut Vec<u8>,
    event_type: &'static str,
    content_type: &'static str,
    payload: Bytes,
) {
    let message = Message::new(payload)
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String(content_type.into()),
        ));
    // Writing fails only for a message past the format's size limits,
    // which MAX_EVENT_PAYLOAD and these three short headers stay within.
    aws_smithy_eventstream::frame::write_message_to(&message, out)
        .expect("an event-stream message within the format's limits");
}
