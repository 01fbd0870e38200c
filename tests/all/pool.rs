//! The pool's semantics: reuse, fresh, retirement, spares, concurrency.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wasmfn::{Function, FunctionConfig, InvokeRequest, Policy, PoolConfig, Refused, Start};

use crate::support::{host, json, load};

fn probe_with(pool: PoolConfig) -> (wasmfn::Host, Arc<Function>) {
    let host = host();
    let mut config = FunctionConfig::new("probe");
    config.pool = pool;
    let f = load(&host, "probe", config);
    (host, f)
}

async fn counter(f: &Arc<Function>) -> (u64, Start) {
    let inv = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .expect("not throttled");
    let n = json(&inv.result.unwrap())["invocations"].as_u64().unwrap();
    (n, inv.start)
}

#[tokio::test]
async fn reuse_keeps_globals_across_invocations() {
    let (_host, f) = probe_with(PoolConfig::default());
    assert_eq!(counter(&f).await, (1, Start::Cold));
    assert_eq!(counter(&f).await, (2, Start::Warm));
    assert_eq!(counter(&f).await, (3, Start::Warm));
    let stats = f.pool_stats();
    assert_eq!(
        (stats.cold_starts, stats.warm_starts, stats.idle),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn fresh_never_shares_an_instance() {
    let (_host, f) = probe_with(PoolConfig {
        policy: Policy::Fresh,
        ..PoolConfig::default()
    });
    for _ in 0..3 {
        assert_eq!(counter(&f).await, (1, Start::Cold));
    }
    let stats = f.pool_stats();
    assert_eq!((stats.cold_starts, stats.retired, stats.idle), (3, 3, 0));
}

#[tokio::test]
async fn an_instance_that_trapped_or_timed_out_is_never_reused() {
    let (_host, f) = probe_with(PoolConfig::default());
    assert_eq!(counter(&f).await, (1, Start::Cold));
    let trap = f
        .invoke(br#"{"action":"trap"}"#, InvokeRequest::default())
        .await
        .unwrap();
    assert_eq!(trap.start, Start::Warm);
    assert!(trap.result.is_err());
    assert_eq!(f.idle_instances(), 0);
    assert_eq!(
        counter(&f).await,
        (1, Start::Cold),
        "a new instance, not the trapped one"
    );

    let host = host();
    let mut config = FunctionConfig::new("probe");
    config.timeout = Duration::from_millis(200);
    let f = load(&host, "probe", config);
    assert_eq!(counter(&f).await, (1, Start::Cold));
    let timeout = f
        .invoke(br#"{"action":"loop"}"#, InvokeRequest::default())
        .await
        .unwrap();
    assert_eq!(timeout.result.unwrap_err().error_type, "Sandbox.Timedout");
    assert_eq!(counter(&f).await, (1, Start::Cold));
}

#[tokio::test]
async fn max_invocations_retires_an_instance() {
    let (_host, f) = probe_with(PoolConfig {
        max_invocations: Some(2),
        ..PoolConfig::default()
    });
    assert_eq!(counter(&f).await, (1, Start::Cold));
    assert_eq!(counter(&f).await, (2, Start::Warm));
    assert_eq!(counter(&f).await, (1, Start::Cold), "retired after two");
    assert_eq!(f.pool_stats().retired, 1);
}

#[tokio::test]
async fn idle_timeout_retires_an_instance() {
    let (_host, f) = probe_with(PoolConfig {
        idle_timeout: Some(Duration::from_millis(50)),
        ..PoolConfig::default()
    });
    assert_eq!(counter(&f).await, (1, Start::Cold));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        counter(&f).await,
        (1, Start::Cold),
        "the idle instance expired"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(f.reap_idle(), 1);
    assert_eq!(f.idle_instances(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spares_serve_without_init_and_are_refilled() {
    let (_host, f) = probe_with(PoolConfig {
        policy: Policy::Fresh,
        spares: 2,
        ..PoolConfig::default()
    });
    f.prewarm().await.unwrap();
    assert_eq!(f.pool_stats().spares, 2);
    let inv = f
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .unwrap();
    assert_eq!(inv.start, Start::Spare);
    assert_eq!(
        inv.report.init_duration, None,
        "init ran before the request"
    );
    assert_eq!(
        json(&inv.result.unwrap()),
        json!({"invocations": 1, "inits": 1}),
        "a spare has run init and nothing else"
    );
    // The used spare is replaced in the background.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while f.pool_stats().spares < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "spares were not refilled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(f.pool_stats().spare_starts, 1);
    assert_eq!(f.pool_stats().cold_starts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_reserved_concurrency_is_throttled_not_queued() {
    let (_host, f) = probe_with(PoolConfig {
        reserved_concurrency: Some(1),
        ..PoolConfig::default()
    });
    let busy = {
        let f = f.clone();
        tokio::spawn(async move {
            f.invoke(br#"{"action":"sleep","n":1000}"#, InvokeRequest::default())
                .await
        })
    };
    // Let the first invocation get inside the guest's sleep.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        f.invoke(br#"{"action":"counter"}"#, InvokeRequest::default()),
    )
    .await
    .expect("a throttled call returns at once; it does not wait for a slot");
    let Refused::Throttled(throttled) = refused.unwrap_err() else {
        panic!("throttled");
    };
    assert_eq!(throttled.limit, 1);
    assert!(throttled.to_string().starts_with("Rate Exceeded"));
    assert!(busy.await.unwrap().unwrap().result.is_ok());
    // With the slot free again, the next call runs.
    assert_eq!(counter(&f).await.0, 2);
    assert_eq!(f.pool_stats().throttled, 1);
}
