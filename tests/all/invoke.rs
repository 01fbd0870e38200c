//! Invoking through the host library: context, warm state, init, logs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use wasmfn::{FunctionConfig, InvokeRequest};

use crate::support::{host, json, load, probe};

#[tokio::test]
async fn the_guest_sees_every_context_field() {
    let host = host();
    let mut config = FunctionConfig::new("ctx-probe");
    config.memory_mb = 256;
    config.timeout = Duration::from_secs(7);
    let f = load(&host, "probe", config);
    let request = InvokeRequest {
        request_id: Some("req-123".into()),
        trace_id: Some("Root=1-abc-def;Sampled=1".into()),
        client_context: Some(r#"{"client":{"app_title":"t"}}"#.into()),
        identity: Some(r#"{"cognitoIdentityId":"id"}"#.into()),
        invoked_function_arn: None,
        deadline: None,
        tenant_id: None,
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let inv = f
        .invoke(br#"{"action":"echo"}"#, request)
        .await
        .expect("not throttled");
    assert_eq!(inv.request_id, "req-123");
    let ctx = json(&inv.result.expect("echo succeeds"));
    assert_eq!(ctx["requestId"], "req-123");
    assert_eq!(ctx["functionName"], "ctx-probe");
    assert_eq!(ctx["functionVersion"], "$LATEST");
    assert_eq!(
        ctx["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:ctx-probe"
    );
    assert_eq!(ctx["memoryLimitInMb"], 256);
    assert_eq!(ctx["logGroupName"], "/aws/lambda/ctx-probe");
    assert!(ctx["logStreamName"].as_str().unwrap().contains("[$LATEST]"));
    assert_eq!(ctx["traceId"], "Root=1-abc-def;Sampled=1");
    assert_eq!(ctx["clientContext"], r#"{"client":{"app_title":"t"}}"#);
    assert_eq!(ctx["identity"], r#"{"cognitoIdentityId":"id"}"#);
    let deadline = ctx["deadlineMs"].as_u64().unwrap();
    assert!(
        deadline >= now_ms + 6_000 && deadline <= now_ms + 8_000,
        "{deadline} vs {now_ms}"
    );
    let remaining = ctx["remainingMs"].as_u64().unwrap();
    assert!(
        remaining > 5_000 && remaining <= 7_000,
        "remaining {remaining}"
    );
}

#[tokio::test]
async fn a_warm_instance_keeps_its_globals_and_reports_no_init() {
    let (_host, f) = probe();
    let first = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert!(
        first.report.init_duration.is_some(),
        "the first call is cold"
    );
    assert_eq!(
        json(&first.result.unwrap()),
        json!({"invocations": 1, "inits": 1})
    );
    let second = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert_eq!(second.report.init_duration, None, "the second call is warm");
    assert_eq!(
        json(&second.result.unwrap()),
        json!({"invocations": 2, "inits": 1})
    );
    assert_eq!(f.idle_instances(), 1);
    assert_ne!(first.request_id, second.request_id);
}

#[tokio::test]
async fn environment_reaches_the_guest_with_lambdas_own_variables() {
    let host = host();
    let mut config = FunctionConfig::new("env-probe");
    config.environment.push(("GREETING".into(), "hi".into()));
    let f = load(&host, "probe", config);
    for (var, want) in [
        ("GREETING", json!("hi")),
        ("AWS_LAMBDA_FUNCTION_NAME", json!("env-probe")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", json!("128")),
        ("HOME", json!(null)),
        ("PATH", json!(null)),
    ] {
        let event = json!({"action": "env", "text": var}).to_string();
        let out = json(
            &f.invoke(event.as_bytes(), InvokeRequest::default())
                .await
                .expect("not throttled")
                .result
                .unwrap(),
        );
        assert_eq!(
            out["value"], want,
            "{var}: the host's own environment must not leak"
        );
    }
    // The one variable of the instance rather than the function.
    let event = json!({"action": "env", "text": "AWS_LAMBDA_LOG_STREAM_NAME"}).to_string();
    let out = f.invoke(event.as_bytes(), InvokeRequest::default()).await;
    let stream = json(&out.expect("not throttled").result.unwrap())["value"].clone();
    assert!(
        stream.as_str().is_some_and(|s| s.contains("/[$LATEST]")),
        "{stream}"
    );
}

#[tokio::test]
async fn guest_output_is_captured_per_invocation_as_cloudwatch_lines() {
    let (_host, f) = probe();
    let inv = f
        .invoke(br#"{"action":"log","n":2}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let text = inv.log_text();
    let id = &inv.request_id;
    assert!(
        text.contains(&format!("\t{id}\tINFO\tprobe init\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("\t{id}\tINFO\tline 1 to stdout\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("\t{id}\tERROR\tone line to stderr\n")),
        "{text}"
    );
    // The next invocation starts with an empty log.
    let next = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert!(next.logs.lines.is_empty(), "{:?}", next.logs.lines);
}

#[tokio::test]
async fn a_log_flood_is_truncated_and_the_instance_lives() {
    let (_host, f) = probe();
    let inv = f
        .invoke(br#"{"action":"flood","n":4}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    assert_eq!(json(&inv.result.clone().unwrap()), json!({"flooded": 4}));
    assert!(
        inv.logs.dropped_bytes > 2 << 20,
        "dropped {}",
        inv.logs.dropped_bytes
    );
    assert!(inv.log_text().contains("bytes dropped"));
    assert_eq!(f.idle_instances(), 1);
}

#[tokio::test]
async fn a_guest_that_handles_refused_growth_keeps_running() {
    let host = host();
    let mut config = FunctionConfig::new("grow");
    config.memory_mb = 64;
    let f = load(&host, "probe", config);
    let inv = f
        .invoke(br#"{"action":"grow","n":1000}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let grown = json(&inv.result.expect("refused growth is not an error"))["grown_mb"]
        .as_u64()
        .unwrap();
    assert!(
        grown > 50 && grown < 64,
        "grew {grown} MB under a 64 MB cap"
    );
    assert_eq!(inv.report.max_memory_used_mb, 64);
    assert_eq!(inv.report.memory_size_mb, 64);
}

#[tokio::test]
async fn init_runs_once_per_instance_and_its_failure_is_reported() {
    let host = host();
    let mut config = FunctionConfig::new("bad-init");
    config
        .environment
        .push(("PROBE_FAIL_INIT".into(), "1".into()));
    let f = load(&host, "probe", config);
    let inv = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let err = inv.result.clone().unwrap_err();
    assert_eq!(err.error_type, "ConfigError");
    assert_eq!(err.error_message, "PROBE_FAIL_INIT is set");
    assert!(inv.report.init_duration.is_some());
    assert!(
        inv.log_text().contains("probe init"),
        "init's output is kept"
    );
    assert_eq!(
        f.idle_instances(),
        0,
        "an instance whose init failed is not kept"
    );
}
