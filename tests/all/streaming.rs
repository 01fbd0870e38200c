//! Response streaming through the real host: the streamer guest
//! (`#[handler(streaming)]`), buffered guests through the streamed path,
//! the JavaScript `streamifyResponse` form, and a guest of the 0.1 ABI.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use wasmfn::instance::response::ResponseSink;
use wasmfn::{Function, FunctionConfig, Invocation, InvokeRequest};

use crate::support::{host, invoke, json, load, load_js};

/// Invokes `f` streamed; returns the invocation and each chunk with when it
/// arrived.
async fn streamed(f: &Arc<Function>, event: Value) -> (Invocation, Vec<(Instant, Bytes)>) {
    let (sink, mut rx) = ResponseSink::channel();
    let collect = async move {
        let mut chunks = Vec::new();
        while let Some(chunk) = rx.recv().await {
            chunks.push((Instant::now(), chunk));
        }
        chunks
    };
    let event = event.to_string();
    let (invocation, chunks) = tokio::join!(
        f.invoke_streamed(event.as_bytes(), InvokeRequest::default(), sink),
        collect
    );
    (invocation.expect("not refused"), chunks)
}

fn joined(chunks: &[(Instant, Bytes)]) -> Vec<u8> {
    chunks.iter().flat_map(|(_, c)| c.to_vec()).collect()
}

fn streamer(timeout: Duration) -> Arc<Function> {
    let mut config = FunctionConfig::new("streamer");
    config.timeout = timeout;
    load(&host(), "streamer", config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_leave_as_they_are_written() {
    let f = streamer(Duration::from_secs(5));
    let event =
        json!({"action": "chunks", "chunks": ["first ", "second ", "third"], "sleepMs": 500});
    let (invocation, chunks) = streamed(&f, event).await;
    assert!(invocation.result.is_ok(), "{:?}", invocation.result);
    assert_eq!(joined(&chunks), b"first second third");
    assert_eq!(chunks.len(), 3, "one chunk per write");
    let spread = chunks[2].0 - chunks[0].0;
    assert!(
        spread >= Duration::from_millis(900),
        "the first chunk came {spread:?} before the last; it must not wait for the function to return"
    );
}

#[tokio::test]
async fn a_streaming_handler_invoked_buffered_answers_with_everything_it_wrote() {
    let f = streamer(Duration::from_secs(5));
    let inv = invoke(&f, &json!({"action": "chunks", "chunks": ["a", "b", "c"]})).await;
    assert_eq!(inv.result.unwrap(), b"abc");
    let inv = invoke(&f, &json!({"action": "fail", "chunks": ["a"]})).await;
    assert_eq!(inv.result.unwrap_err().error_type, "StreamFailed");
}

#[tokio::test]
async fn an_error_after_some_chunks_ends_the_stream_with_it() {
    let f = streamer(Duration::from_secs(5));
    let (invocation, chunks) = streamed(&f, json!({"action": "fail", "chunks": ["x", "y"]})).await;
    assert_eq!(joined(&chunks), b"xy");
    let error = invocation.result.unwrap_err();
    assert_eq!(error.error_type, "StreamFailed");
    assert_eq!(error.error_message, "failed after writing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_mid_stream_ends_it_with_sandbox_timedout() {
    let f = streamer(Duration::from_millis(300));
    let (invocation, chunks) = streamed(&f, json!({"action": "forever"})).await;
    assert!(
        chunks.len() >= 5,
        "it streamed until stopped: {} chunks",
        chunks.len()
    );
    assert_eq!(
        invocation.result.unwrap_err().error_type,
        "Sandbox.Timedout"
    );
    // The timed-out instance is gone; the next call gets a new one.
    assert_eq!(f.pool_stats().retired, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_the_writes_and_the_instance_stays_usable() {
    let f = streamer(Duration::from_secs(5));
    let (sink, mut rx) = ResponseSink::channel();
    let reader = async move {
        for _ in 0..3 {
            rx.recv().await.expect("a chunk");
        }
        // The client leaves.
        drop(rx);
    };
    let (invocation, ()) = tokio::join!(
        f.invoke_streamed(br#"{"action":"forever"}"#, InvokeRequest::default(), sink),
        reader
    );
    assert!(
        invocation.unwrap().result.is_ok(),
        "the guest saw `closed` and returned"
    );
    // Same (warm) instance: it counted the closed stream, and serves again.
    let (invocation, chunks) = streamed(&f, json!({"action": "stats"})).await;
    assert!(invocation.result.is_ok());
    let stats = json(&joined(&chunks));
    assert_eq!(stats["closed"], 1, "{stats}");
    assert_eq!(stats["calls"], 2, "{stats}");
    assert_eq!(f.pool_stats().warm_starts, 1);
}

#[tokio::test]
async fn past_the_limit_a_stream_fails_with_response_size_too_large() {
    let f = streamer(Duration::from_secs(10));
    let (sink, mut rx) = ResponseSink::with_limit(1 << 20);
    let drain = async move { while rx.recv().await.is_some() {} };
    let (invocation, ()) = tokio::join!(
        f.invoke_streamed(
            br#"{"action":"bytes","mb":2}"#,
            InvokeRequest::default(),
            sink
        ),
        drain
    );
    let error = invocation.unwrap().result.unwrap_err();
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
}

#[tokio::test]
async fn a_buffered_handler_answers_a_streamed_invocation_in_one_chunk() {
    let f = load(&host(), "probe", FunctionConfig::new("probe"));
    let (invocation, chunks) = streamed(&f, json!({"action": "counter"})).await;
    assert!(invocation.result.is_ok());
    assert_eq!(chunks.len(), 1);
    assert_eq!(json(&chunks[0].1)["invocations"], 1);
}

#[tokio::test]
async fn a_guest_of_the_0_1_abi_still_runs_buffered_and_streamed() {
    let f = load(&host(), "abi-0-1", FunctionConfig::new("old"));
    let inv = invoke(&f, &json!({"n": 1})).await;
    let answer = json(&inv.result.unwrap());
    assert_eq!(answer["abi"], "0.1");
    assert_eq!(answer["functionName"], "old");
    assert_eq!(answer["memoryLimitInMB"], 128);
    assert_eq!(answer["remainingPositive"], true);
    assert_eq!(answer["event"], json!({"n": 1}));
    let inv = invoke(&f, &json!({"x": "fail"})).await;
    assert_eq!(inv.result.unwrap_err().error_type, "Abi01Error");
    let (invocation, chunks) = streamed(&f, json!({"n": 2})).await;
    assert!(invocation.result.is_ok());
    assert_eq!(chunks.len(), 1);
    assert_eq!(json(&chunks[0].1)["event"], json!({"n": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_streamify_response_streams_and_buffers() {
    let f = load_js(&host(), "js-stream", "streamHandler");
    let event = json!({"chunks": ["one ", "two ", "three"], "sleepMs": 300});
    let (invocation, chunks) = streamed(&f, event.clone()).await;
    assert!(invocation.result.is_ok(), "{:?}", invocation.result);
    assert_eq!(joined(&chunks), b"one two three");
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    assert!(chunks[chunks.len() - 1].0 - chunks[0].0 >= Duration::from_millis(500));
    // Invoked buffered, it answers with what it wrote.
    let inv = invoke(&f, &event).await;
    assert_eq!(inv.result.unwrap(), b"one two three");
    // HttpResponseStream.from writes Lambda's HTTP prelude.
    let (_, chunks) = streamed(&f, json!({"http": true, "chunks": ["body"]})).await;
    let bytes = joined(&chunks);
    let at = bytes
        .windows(8)
        .position(|w| w == [0; 8])
        .expect("a prelude");
    assert_eq!(
        json(&bytes[..at]),
        json!({"statusCode": 202, "headers": {"content-type": "text/plain", "x-from": "node"}})
    );
    assert_eq!(&bytes[at + 8..], b"body");
    // A throw after some writes ends the stream with Node's error shape.
    let (invocation, chunks) = streamed(&f, json!({"action": "fail", "chunks": ["a"]})).await;
    assert_eq!(joined(&chunks), b"a");
    let error = invocation.result.unwrap_err();
    assert_eq!(error.error_type, "Error");
    assert_eq!(error.error_message, "failed mid-stream");
}
