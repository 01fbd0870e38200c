//! The hostile-guest suite: every way a guest can attack or break the host
//! (runaway loops, in wasm and across host calls, memory bombs, stack
//! overflow, panics, traps, `exit`, oversized responses, log floods,
//! snooping on files and environment, a `/tmp` nested 30,000 deep, denied
//! hosts, calls past its concurrency) becomes a Lambda-shaped error of an exact type or finds
//! nothing, the failed instance is thrown away, and the host carries on:
//! after each case the same function answers from a new instance and
//! another function on the same host still answers. The attacks are
//! actions of the `probe` guest (tests/guests/probe), each a few plain
//! lines of Rust.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wasmfn::error::{
    ERROR_EXIT, ERROR_OUT_OF_MEMORY, ERROR_RESPONSE_TOO_LARGE, ERROR_TIMEOUT, ERROR_UNHANDLED,
};
use wasmfn::{Function, FunctionConfig, Host, InvokeRequest, Refused};

use crate::support::{host, invoke, json, load};

/// A victim function and a bystander (`hello`) on one host.
struct Arena {
    _host: Host,
    f: Arc<Function>,
    bystander: Arc<Function>,
}

impl std::ops::Deref for Arena {
    type Target = Arc<Function>;
    fn deref(&self) -> &Arc<Function> {
        &self.f
    }
}

/// After a failure, the same function must answer normally from a new
/// instance (a cold start), the failed instance must be gone, and another
/// function on the host must still answer.
async fn assert_recovers(arena: &Arena) {
    let inv = invoke(&arena.f, &json!({"action": "counter"})).await;
    assert!(
        inv.report.init_duration.is_some(),
        "a poisoned instance was reused"
    );
    assert_eq!(
        json(&inv.result.unwrap()),
        json!({"invocations": 1, "inits": 1})
    );
    assert_bystander_answers(arena).await;
}

/// Another function on the same host answers normally.
async fn assert_bystander_answers(arena: &Arena) {
    let ok = invoke(&arena.bystander, &json!({})).await;
    assert_eq!(json(&ok.result.unwrap())["statusCode"], 200);
}

fn probe_with(memory_mb: u32, timeout: Duration) -> Arena {
    let mut config = FunctionConfig::new("probe");
    config.memory_mb = memory_mb;
    config.timeout = timeout;
    arena(config)
}

/// `probe` under `config`, and `hello` beside it on the same host.
fn arena(config: FunctionConfig) -> Arena {
    let host = host();
    let f = load(&host, "probe", config);
    let bystander = load(&host, "hello", FunctionConfig::new("hello"));
    Arena {
        _host: host,
        f,
        bystander,
    }
}

/// One probe action's result (the guest reports I/O errors as data).
async fn call(f: &Arc<Function>, action: &str, text: &str) -> Value {
    let inv = invoke(f, &json!({"action": action, "text": text})).await;
    json(&inv.result.expect("the probe reports I/O errors as data"))
}

#[tokio::test]
async fn an_infinite_loop_times_out_in_about_the_timeout() {
    let f = probe_with(128, Duration::from_secs(1));
    let start = Instant::now();
    let inv = invoke(&f, &json!({"action":"loop"})).await;
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
async fn a_tight_loop_of_host_calls_times_out() {
    let f = probe_with(128, Duration::from_millis(500));
    let inv = invoke(&f, &json!({"action":"import_loop"})).await;
    assert_eq!(inv.result.unwrap_err().error_type, ERROR_TIMEOUT);
    assert!(inv.report.duration < Duration::from_secs(10));
    assert_recovers(&f).await;
}

#[tokio::test]
async fn a_guest_blocked_in_a_host_call_times_out_too() {
    let f = probe_with(128, Duration::from_millis(500));
    let inv = invoke(&f, &json!({"action":"sleep","n":30000})).await;
    assert_eq!(inv.result.unwrap_err().error_type, ERROR_TIMEOUT);
    assert!(inv.report.duration < Duration::from_secs(10));
    assert_recovers(&f).await;
}

#[tokio::test]
async fn allocating_past_memory_size_is_out_of_memory() {
    let f = probe_with(64, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"alloc","n":100})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_OUT_OF_MEMORY);
    assert!(err.error_message.contains("64 MB"), "{}", err.error_message);
    assert_recovers(&f).await;
    // Under the cap, the same allocation is fine.
    let inv = invoke(&f, &json!({"action":"alloc","n":32})).await;
    assert_eq!(json(&inv.result.unwrap())["allocated_mb"], 32);
}

#[tokio::test]
async fn raw_memory_grow_past_memory_size_is_out_of_memory() {
    let f = probe_with(64, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"bomb"})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_OUT_OF_MEMORY, "{err:?}");
    // 16 MiB steps: the last one that fit is the peak.
    assert!(inv.report.max_memory_used_mb <= 64);
    assert_recovers(&f).await;
}

#[tokio::test]
async fn a_response_over_6_mb_is_refused() {
    let f = probe_with(256, Duration::from_secs(5));
    let inv = invoke(&f, &json!({"action":"big","n":10000000})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_RESPONSE_TOO_LARGE);
    assert_eq!(
        err.error_message,
        "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
    );
    // The guest did nothing wrong: its instance stays warm, as on Lambda.
    let next = invoke(&f, &json!({"action":"big","n":1000})).await;
    assert_eq!(next.report.init_duration, None);
    assert_eq!(
        json(&next.result.unwrap())["data"].as_str().unwrap().len(),
        1000
    );
    assert_bystander_answers(&f).await;
}

/// The host's resident memory, from /proc.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn a_100_mb_log_flood_is_truncated_and_host_memory_stays_flat() {
    let f = probe_with(128, Duration::from_secs(60));
    // Warm up (instance, fiber stack, log buffers), then measure.
    let warm = invoke(&f, &json!({"action":"flood","n":1})).await;
    assert!(warm.result.is_ok());
    let before = rss_bytes();
    for _ in 0..2 {
        let inv = invoke(&f, &json!({"action":"flood","n":50})).await;
        assert_eq!(json(inv.result.as_ref().unwrap())["flooded"], 50);
        assert!(
            inv.logs.dropped_bytes >= 49 << 20,
            "{}",
            inv.logs.dropped_bytes
        );
        assert!(inv.log_text().len() < 2 << 20, "kept at most ~1 MiB");
    }
    let grown = rss_bytes().saturating_sub(before);
    // 100 MB went through; a correctness bound, far below it.
    assert!(grown < 24 << 20, "host RSS grew {} MiB", grown >> 20);
    assert_bystander_answers(&f).await;
}

#[tokio::test]
async fn snooping_finds_nothing_of_the_host_or_other_functions() {
    let f = probe_with(128, Duration::from_secs(3));
    for path in ["/etc/passwd", "../etc/passwd", "/tmp/../../etc/passwd"] {
        let out = call(&f, "read", path).await;
        assert!(out["error"].is_string(), "{path} was readable: {out}");
    }
    // The host process's own environment (the test harness sets these).
    for var in ["PATH", "HOME", "CARGO_MANIFEST_DIR"] {
        assert_eq!(call(&f, "env", var).await["value"], Value::Null, "{var}");
    }
    // Another function's /tmp: same path, different directory.
    let other = load(&f._host, "probe", FunctionConfig::new("other"));
    let inv = invoke(
        &other,
        &json!({"action": "write", "text": "/tmp/secret", "n": 5}),
    )
    .await;
    assert_eq!(json(&inv.result.unwrap())["written"], 5);
    assert!(call(&f, "read", "/tmp/secret").await["error"].is_string());
    assert_eq!(
        call(&other, "read", "/tmp/secret").await["content"],
        "wwwww"
    );
    assert_bystander_answers(&f).await;
}

#[tokio::test]
async fn a_tmp_nested_30000_deep_is_removed_without_hurting_the_host() {
    let mut config = FunctionConfig::new("nest-30000");
    config.timeout = Duration::from_secs(120);
    // Retired after the call, so that its /tmp is removed at once.
    config.pool.max_invocations = Some(1);
    let arena = arena(config);
    // 30,000 levels, a descriptor each, as WASI allows: removing them by
    // recursion (`std::fs::remove_dir_all`) overflows a 2 MiB thread stack
    // and aborts the whole process.
    let inv = invoke(&arena.f, &json!({"action": "deep", "n": 30_000})).await;
    assert_eq!(json(&inv.result.unwrap()), json!({"depth": 30_000}));
    // The janitor empties the retired instance's /tmp in the background.
    let prefix = format!("wasmfn-{}-nest-30000-", std::process::id());
    let root = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .expect("the function's root")
        .path();
    let all_empty = || {
        std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .all(|tmp| std::fs::read_dir(tmp.path()).map_or(true, |mut e| e.next().is_none()))
    };
    let start = Instant::now();
    while !all_empty() && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(all_empty(), "the deep tree is still in {}", root.display());
    assert_recovers(&arena).await;
}

#[tokio::test]
async fn a_panic_is_unhandled_with_its_message() {
    let f = probe_with(128, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"panic","text":"kaboom"})).await;
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
    let f = probe_with(128, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"trap"})).await;
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
    let f = probe_with(128, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"recurse","n":1})).await;
    assert_eq!(inv.result.unwrap_err().error_type, ERROR_UNHANDLED);
    assert_recovers(&f).await;
}

#[tokio::test]
async fn exit_is_a_runtime_exit_error() {
    let f = probe_with(128, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"exit","n":3})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, ERROR_EXIT);
    assert!(err
        .error_message
        .contains("Runtime exited with error: exit status"));
    assert_recovers(&f).await;
}

#[tokio::test]
async fn a_returned_error_keeps_the_instance_warm() {
    let f = probe_with(128, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"action":"error","text":"bad input"})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(
        (err.error_type.as_str(), err.error_message.as_str()),
        ("CustomError", "bad input")
    );
    assert_eq!(
        err.to_json(),
        r#"{"errorMessage":"bad input","errorType":"CustomError"}"#
    );
    let next = invoke(&f, &json!({"action":"counter"})).await;
    assert_eq!(
        next.report.init_duration, None,
        "an Err return is not a crash"
    );
    assert_eq!(json(&next.result.unwrap())["invocations"], 2);
}

#[tokio::test]
async fn an_event_of_the_wrong_shape_is_an_unmarshal_error() {
    let f = probe_with(128, Duration::from_secs(3));
    let inv = invoke(&f, &json!({"no_action":1})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, "Runtime.UnmarshalError");
    assert!(
        err.error_message.contains("action"),
        "{}",
        err.error_message
    );
}

#[tokio::test]
async fn a_call_to_a_denied_host_is_refused_in_the_guest() {
    let f = probe_with(128, Duration::from_secs(3));
    // No allowedOutboundHosts: no network at all, not even loopback.
    let out = call(&f, "fetch", "http://127.0.0.1:9/").await;
    assert!(
        out["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{out}"
    );
    assert_bystander_answers(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_reserved_concurrency_are_throttled_not_queued() {
    let mut config = FunctionConfig::new("narrow");
    config.pool.reserved_concurrency = Some(2);
    let arena = arena(config);
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let f = arena.f.clone();
            tokio::spawn(async move {
                f.invoke(br#"{"action":"sleep","n":1500}"#, InvokeRequest::default())
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Ten more at once: every one refused at once, none waiting for a slot.
    let start = Instant::now();
    for _ in 0..10 {
        let refused = arena
            .f
            .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
            .await;
        match refused.unwrap_err() {
            Refused::Throttled(throttled) => assert_eq!(throttled.limit, 2),
            other => panic!("throttled, not {other:?}"),
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "throttles do not queue"
    );
    assert_bystander_answers(&arena).await;
    for b in busy {
        assert!(b.await.unwrap().unwrap().result.is_ok());
    }
}
