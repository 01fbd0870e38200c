//! Every way a guest can fail becomes a Lambda-shaped error, the failed
//! instance is thrown away, and the host carries on serving.

use std::time::{Duration, Instant};

use serde_json::json;
use wasmfn::error::{ERROR_EXIT, ERROR_OUT_OF_MEMORY, ERROR_TIMEOUT, ERROR_UNHANDLED};
use wasmfn::{Function, FunctionConfig, InvokeRequest};

use crate::support::{host, json, load};

/// After a failure, the same function must answer normally from a new
/// instance (a cold start), and the failed instance must be gone.
async fn assert_recovers(f: &std::sync::Arc<Function>) {
    let inv = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert!(
        inv.report.init_duration.is_some(),
        "a poisoned instance was reused"
    );
    assert_eq!(
        json(&inv.result.unwrap()),
        json!({"invocations": 1, "inits": 1})
    );
}

fn probe_with(memory_mb: u32, timeout: Duration) -> (wasmfn::Host, std::sync::Arc<Function>) {
    let host = host();
    let mut config = FunctionConfig::new("probe");
    config.memory_mb = memory_mb;
    config.timeout = timeout;
    let f = load(&host, "probe", config);
    (host, f)
}

#[tokio::test]
async fn an_infinite_loop_times_out_in_about_the_timeout() {
    let (_host, f) = probe_with(128, Duration::from_secs(1));
    let start = Instant::now();
    let inv = f
        .invoke(br#"{"action":"loop"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let took = start.elapsed();
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_TIMEOUT);
    assert_eq!(
        err.error_message,
        format!(
            "RequestId: {} Error: Task timed out after 1.00 seconds",
            inv.request_id
        )
    );
    // A correctness bound, not a benchmark: it stopped, and not early.
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_recovers(&f).await;
}

#[tokio::test]
async fn a_guest_blocked_in_a_host_call_times_out_too() {
    let (_host, f) = probe_with(128, Duration::from_millis(500));
    let inv = f
        .invoke(br#"{"action":"sleep","n":30000}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert_eq!(inv.result.unwrap_err().error_type, ERROR_TIMEOUT);
    assert!(inv.report.duration < Duration::from_secs(10));
    assert_recovers(&f).await;
}

#[tokio::test]
async fn allocating_past_memory_size_is_out_of_memory() {
    let (_host, f) = probe_with(64, Duration::from_secs(3));
    let inv = f
        .invoke(br#"{"action":"alloc","n":100}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_OUT_OF_MEMORY);
    assert!(err.error_message.contains("64 MB"), "{}", err.error_message);
    assert_recovers(&f).await;
    // Under the cap, the same allocation is fine.
    let inv = f
        .invoke(br#"{"action":"alloc","n":32}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert_eq!(json(&inv.result.unwrap())["allocated_mb"], 32);
}

#[tokio::test]
async fn a_panic_is_unhandled_with_its_message() {
    let (_host, f) = probe_with(128, Duration::from_secs(3));
    let inv = f
        .invoke(
            br#"{"action":"panic","text":"kaboom"}"#,
            InvokeRequest::default(),
        )
        .await
        .expect("not throttled");
    let err = inv.result.clone().unwrap_err();
    assert_eq!(err.error_type, ERROR_UNHANDLED);
    assert_eq!(
        err.error_message,
        "Lambda panicked: probe was asked to panic: kaboom"
    );
    assert!(
        err.stack_trace[0].contains("probe/src/lib.rs"),
        "{:?}",
        err.stack_trace
    );
    assert!(
        inv.log_text().contains("kaboom"),
        "the panic is in the log too"
    );
    assert_recovers(&f).await;
}

#[tokio::test]
async fn a_trap_is_unhandled_with_a_wasm_stack_trace() {
    let (_host, f) = probe_with(128, Duration::from_secs(3));
    let inv = f
        .invoke(br#"{"action":"trap"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_UNHANDLED);
    assert!(
        err.error_message.contains("unreachable"),
        "{}",
        err.error_message
    );
    assert!(!err.stack_trace.is_empty());
    assert_recovers(&f).await;
}

#[tokio::test]
async fn runaway_recursion_traps_without_hurting_the_host() {
    let (_host, f) = probe_with(128, Duration::from_secs(3));
    let inv = f
        .invoke(br#"{"action":"recurse","n":1}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert_eq!(inv.result.unwrap_err().error_type, ERROR_UNHANDLED);
    assert_recovers(&f).await;
}

#[tokio::test]
async fn exit_is_a_runtime_exit_error() {
    let (_host, f) = probe_with(128, Duration::from_secs(3));
    let inv = f
        .invoke(br#"{"action":"exit","n":3}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_EXIT);
    assert!(err
        .error_message
        .contains("Runtime exited with error: exit status"));
    assert_recovers(&f).await;
}

#[tokio::test]
async fn a_returned_error_keeps_the_instance_warm() {
    let (_host, f) = probe_with(128, Duration::from_secs(3));
    let inv = f
        .invoke(
            br#"{"action":"error","text":"bad input"}"#,
            InvokeRequest::default(),
        )
        .await
        .expect("not throttled");
    let err = inv.result.unwrap_err();
    assert_eq!(
        (err.error_type.as_str(), err.error_message.as_str()),
        ("CustomError", "bad input")
    );
    assert_eq!(
        err.to_json(),
        r#"{"errorMessage":"bad input","errorType":"CustomError"}"#
    );
    let next = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert_eq!(
        next.report.init_duration, None,
        "an Err return is not a crash"
    );
    assert_eq!(json(&next.result.unwrap())["invocations"], 2);
}

#[tokio::test]
async fn an_event_of_the_wrong_shape_is_an_unmarshal_error() {
    let (_host, f) = probe_with(128, Duration::from_secs(3));
    let inv = f
        .invoke(br#"{"no_action":1}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, "Runtime.UnmarshalError");
    assert!(
        err.error_message.contains("action"),
        "{}",
        err.error_message
    );
}

#[tokio::test]
async fn one_functions_failures_do_not_touch_another() {
    let host = host();
    let mut config = FunctionConfig::new("victim");
    config.timeout = Duration::from_millis(300);
    let victim = load(&host, "probe", config);
    let bystander = load(&host, "hello", FunctionConfig::new("hello"));
    for event in [
        &br#"{"action":"loop"}"#[..],
        br#"{"action":"panic"}"#,
        br#"{"action":"alloc","n":500}"#,
        br#"{"action":"exit","n":1}"#,
    ] {
        assert!(victim
            .invoke(event, InvokeRequest::default())
            .await
            .expect("not throttled")
            .result
            .is_err());
        let ok = bystander
            .invoke(b"{}", InvokeRequest::default())
            .await
            .expect("not throttled");
        assert_eq!(json(&ok.result.unwrap())["statusCode"], 200);
    }
}
