//! SnapStart's figures: cold starts from a snapshot of `init` against cold
//! starts that run it, and warm calls with and without a snapshot.
//!
//! The guest is the probe with `PROBE_INIT_MAP=100000`: its `init` builds a
//! 100,000-entry map, ~20 ms of real work. Groups:
//!
//! * `invoke_snapshot`: a fresh instance per invocation (instantiate, init
//!   or restore, call, drop) of `hello`, of the probe running its init, and
//!   of the probe restored from its snapshot;
//! * printed before it, measured interleaved: restored cold start over
//!   `hello`'s cold start (the target is ≤ 1.2×: init's cost is gone), and
//!   warm calls on a restored instance over warm calls on an initialized one
//!   (the target is within 3 %);
//! * `snapshot_build`: loading `hello` on an empty cache, plainly (compile)
//!   and with SnapStart (instrument, run init, snapshot, compile the
//!   snapshot), each on a new host; and, printed after it, their same-run
//!   ratio (the target is ≤ 2×).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use wasmfn::{Function, FunctionConfig, GuestBuilder, Host, InvokeRequest, Policy, PoolingMode};

use super::Setup;

const EVENT: &[u8] = br#"{"action":"counter"}"#;

fn probe(s: &Setup, snap_start: bool, policy: Policy) -> Arc<Function> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let wasm = GuestBuilder::new()
        .build_crate(&root.join("tests/guests/probe"))
        .expect("building tests/guests/probe");
    let mut config = FunctionConfig::new("heavy-init");
    config.snap_start = snap_start;
    config.pool.policy = policy;
    config
        .environment
        .push(("PROBE_INIT_MAP".into(), "100000".into()));
    s.host.load(&wasm, config).expect("load the probe")
}

fn hello(s: &Setup, policy: Policy) -> Arc<Function> {
    let mut config = FunctionConfig::new("hello");
    config.pool.policy = policy;
    s.host.load(&s.wasm, config).expect("load hello")
}

/// Seconds for `calls` invocations of `f` with `event`.
fn time(s: &Setup, f: &Arc<Function>, event: &[u8], calls: usize) -> f64 {
    s.runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..calls {
            let inv = f.invoke(event, InvokeRequest::default()).await.unwrap();
            std::hint::black_box(inv.result.unwrap());
        }
        start.elapsed().as_secs_f64()
    })
}

/// The two same-run ratios of SnapStart's targets, printed.
pub fn interleaved(s: &Setup) {
    let quick = std::env::args().any(|a| a == "--test");
    let (rounds, cold_calls, warm_calls) = if quick { (2, 2, 10) } else { (31, 50, 2000) };
    let hello_fresh = hello(s, Policy::Fresh);
    let restored_fresh = probe(s, true, Policy::Fresh);
    let initialized_warm = probe(s, false, Policy::Reuse);
    let restored_warm = probe(s, true, Policy::Reuse);
    let hello_event = wasmfn::tooling::sample::api_gateway_v1_of_size(1 << 10);
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..rounds {
        let hello = time(s, &hello_fresh, &hello_event, cold_calls);
        let restored = time(s, &restored_fresh, EVENT, cold_calls);
        cold.push(restored / hello);
        let initialized = time(s, &initialized_warm, EVENT, warm_calls);
        let restored = time(s, &restored_warm, EVENT, warm_calls);
        warm.push(restored / initialized);
    }
    if quick {
        println!("invoke_snapshot ratios: ran (not measured under --test)");
        return;
    }
    for (what, ratios) in [
        (
            "cold start restored from a snapshot of a 20 ms init / hello's cold start",
            &mut cold,
        ),
        (
            "warm call on a restored instance / on an initialized one",
            &mut warm,
        ),
    ] {
        ratios.sort_by(f64::total_cmp);
        println!(
            "{what}, interleaved: {:.2}× (median of {rounds} rounds; range {:.2}×–{:.2}×)",
            ratios[rounds / 2],
            ratios[0],
            ratios[rounds - 1]
        );
    }
}

/// The `invoke_snapshot` group.
pub fn group(c: &mut Criterion, s: &Setup) {
    let hello_event = wasmfn::tooling::sample::api_gateway_v1_of_size(1 << 10);
    let series = [
        (
            "hello_fresh",
            hello(s, Policy::Fresh),
            hello_event.as_slice(),
        ),
        ("heavy_init_fresh", probe(s, false, Policy::Fresh), EVENT),
        ("heavy_init_snapshot", probe(s, true, Policy::Fresh), EVENT),
    ];
    let mut group = c.benchmark_group("invoke_snapshot");
    for (name, f, event) in &series {
        group.bench_function(*name, |b| {
            b.to_async(&s.runtime).iter(|| async {
                let inv = f.invoke(event, InvokeRequest::default()).await.unwrap();
                inv.result.unwrap()
            })
        });
    }
    group.finish();
}

/// How long loading `hello` takes on an empty cache and a new host, with
/// SnapStart or without.
fn build_once(wasm: &Path, snap_start: bool) -> Duration {
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(super::options(cache.path(), PoolingMode::Off)).expect("host");
    let mut config = FunctionConfig::new("hello");
    config.snap_start = snap_start;
    let start = Instant::now();
    std::hint::black_box(host.load(wasm, config).expect("load hello"));
    start.elapsed()
}

/// The `snapshot_build` group, then the interleaved ratio of a snapshot's
/// build to a plain compile.
pub fn build(c: &mut Criterion, s: &Setup) {
    let mut group = c.benchmark_group("snapshot_build");
    group.sample_size(10);
    for (name, snap_start) in [("hello_compile", false), ("hello_snapshot", true)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| build_once(&s.wasm, snap_start)).sum())
        });
    }
    group.finish();
    let quick = std::env::args().any(|a| a == "--test");
    let rounds = if quick { 1 } else { 9 };
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|_| {
            let plain = build_once(&s.wasm, false).as_secs_f64();
            build_once(&s.wasm, true).as_secs_f64() / plain
        })
        .collect();
    if quick {
        println!("snapshot_build ratio: ran (not measured under --test)");
        return;
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "snapshot build of hello / its plain compile, interleaved: {:.2}× (median of {rounds} rounds; range {:.2}×–{:.2}×)",
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1]
    );
}
