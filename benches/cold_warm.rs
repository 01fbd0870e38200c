//! Cold versus warm: what each stage of a wasmfn invocation costs, next to
//! the same handler compiled natively and called directly (the floor).
//!
//! Run with `cargo bench --bench cold_warm`. Groups:
//!
//! * `compile`: Cranelift, from `.wasm` to a precompiled artifact;
//! * `load`: mapping a cached artifact (`Component::deserialize_file`);
//! * `instantiate`: a new instance from the `InstancePre`, pooling versus
//!   on-demand allocation;
//! * `invoke_warm`: the full request path on a warm instance;
//! * `invoke_fresh`: instantiate + init + call + drop (the fresh policy
//!   without spares);
//! * `invoke_spare`: a call on a pre-warmed, never-used instance;
//! * `native_floor`: `hello`'s handler, natively, with the same JSON decode
//!   and encode;
//! * `invoke_snapshot`: cold starts restored from a SnapStart snapshot
//!   against cold starts that run init (see `snapshot.rs`).
//!
//! The event is an API Gateway proxy event of 100 B, 1 KB, 64 KB or 1 MB.
//!
//! Before the groups, the bench prints `invoke_warm / native_floor` at 1 KB
//! measured interleaved, the ratio the groups' separate timings can only
//! approximate on a machine whose speed drifts. Next to it, in the same
//! rounds, the same call through plain wasmtime (`plain.rs`), with and
//! without epoch checks: what the engine and the compiled guest cost before
//! anything wasmfn adds. `instantiate` has a plain-wasmtime series too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod plain;
mod snapshot;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;
use wasmfn::{
    EngineOptions, Function, FunctionConfig, GuestBuilder, Host, HostOptions, InvokeRequest,
    Policy, PoolingMode,
};

const SIZES: [(usize, &str); 4] = [
    (100, "100B"),
    (1 << 10, "1KB"),
    (64 << 10, "64KB"),
    (1 << 20, "1MB"),
];

fn hello_wasm() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    GuestBuilder::new()
        .build_crate(&root.join("functions/hello"))
        .expect("building functions/hello (is the wasm32-wasip2 target installed?)")
}

struct Setup {
    wasm: PathBuf,
    _cache: tempfile::TempDir,
    host: Host,
    on_demand: Host,
    runtime: Runtime,
}

/// A host's options: the default engine with `pooling`, caching in `cache`.
fn options(cache: &Path, pooling: PoolingMode) -> HostOptions {
    HostOptions {
        engine: EngineOptions {
            pooling,
            ..EngineOptions::default()
        },
        cache_dir: cache.to_owned(),
        ..HostOptions::default()
    }
}

fn setup() -> Setup {
    let wasm = hello_wasm();
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(options(cache.path(), PoolingMode::Required)).expect("pooling host");
    let on_demand = Host::new(options(cache.path(), PoolingMode::Off)).expect("on-demand host");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Setup {
        wasm,
        _cache: cache,
        host,
        on_demand,
        runtime,
    }
}

fn load(host: &Host, wasm: &Path, policy: Policy) -> Arc<Function> {
    let mut config = FunctionConfig::new("hello");
    config.pool.policy = policy;
    host.load(wasm, config).expect("load hello")
}

fn compile_and_load(c: &mut Criterion, s: &Setup) {
    let bytes = std::fs::read(&s.wasm).unwrap();
    let engine = wasmtime::Engine::default();
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("hello", |b| {
        b.iter(|| engine.precompile_component(&bytes).unwrap())
    });
    group.finish();

    let f = load(&s.host, &s.wasm, Policy::Reuse);
    let artifact = f.load_stats().artifact.clone();
    let mut group = c.benchmark_group("load");
    group.bench_function("hello", |b| {
        b.iter(|| s.host.load(&s.wasm, FunctionConfig::new("hello")).unwrap());
    });
    group.bench_function("deserialize_file", |b| {
        let engine = wasmtime::Engine::new(wasmtime::Config::new().epoch_interruption(true))
            .expect("engine");
        // The plain engine has other settings than the host's, so its
        // artifact is its own.
        let plain = engine.precompile_component(&bytes).unwrap();
        let path = artifact.with_extension("plain.cwasm");
        std::fs::write(&path, plain).unwrap();
        b.iter(|| {
            unsafe { wasmtime::component::Component::deserialize_file(&engine, &path) }.unwrap()
        });
    });
    group.finish();
}

fn instantiate(c: &mut Criterion, s: &Setup) {
    let mut group = c.benchmark_group("instantiate");
    for (name, host) in [("pooling", &s.host), ("on_demand", &s.on_demand)] {
        let f = load(host, &s.wasm, Policy::Reuse);
        group.bench_function(name, |b| {
            // Only the instantiation is timed; dropping (returning the slot
            // to the pool) happens outside the measurement.
            b.iter_custom(|iters| {
                s.runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let instance = f.instantiate().await.unwrap();
                        total += start.elapsed();
                        drop(instance);
                    }
                    total
                })
            })
        });
    }
    // The floor: what plain wasmtime's pooling allocator takes for a WASI
    // context, a `Store` and the instantiation, which any host pays.
    let options = plain::Options {
        pooling: true,
        epochs: true,
    };
    let plain = plain::Plain::new(&s.wasm, options);
    group.bench_function("plain_wasmtime_pooling", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let instance = plain.instantiate();
                total += start.elapsed();
                drop(instance);
            }
            total
        })
    });
    group.finish();
}

fn invoke(c: &mut Criterion, s: &Setup) {
    let warm = &load(&s.host, &s.wasm, Policy::Reuse);
    let fresh = &load(&s.host, &s.wasm, Policy::Fresh);
    let ctx = wasmfn_guest::Context::for_test("hello");
    for (size, label) in SIZES {
        let event = wasmfn::tooling::sample::api_gateway_v1_of_size(size);
        let event = &event;

        // The full request path, on a warm instance or a fresh one each time.
        for (group_name, function) in [("invoke_warm", warm), ("invoke_fresh", fresh)] {
            let mut group = c.benchmark_group(group_name);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::from_parameter(label), &size, |b, _| {
                b.to_async(&s.runtime).iter(|| async {
                    let inv = function
                        .invoke(event, InvokeRequest::default())
                        .await
                        .unwrap();
                    inv.result.unwrap()
                })
            });
            group.finish();
        }

        let mut group = c.benchmark_group("invoke_spare");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &size, |b, _| {
            b.iter_custom(|iters| {
                s.runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // A spare: instantiated and initialized, never called.
                        let (instance, _, _) = warm.cold_instance().await;
                        let mut instance = instance.expect("spare instance");
                        let start = Instant::now();
                        let out = warm.invoke_on(&mut instance, event).await.unwrap();
                        total += start.elapsed();
                        drop((instance, out));
                    }
                    total
                })
            })
        });
        group.finish();

        let mut group = c.benchmark_group("native_floor");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &size, |b, _| {
            b.iter(|| native_hello(event, &ctx))
        });
        group.finish();
    }
}

/// The native floor: `hello`'s handler called directly, with the SDK's
/// JSON decode and encode.
fn native_hello(event: &[u8], ctx: &wasmfn_guest::Context) -> Vec<u8> {
    wasmfn_guest::__private::call(event, ctx.clone(), hello::handler).unwrap()
}

/// `invoke_warm` over `native_floor` at 1 KB, measured interleaved: rounds
/// of native calls and warm invocations alternate (with the same call
/// through plain wasmtime, with and without epoch checks), and the median
/// of the per-round ratios is printed. A shared machine's speed drifts over
/// minutes, which two criterion groups measured a minute apart would read
/// as a difference between them; adjacent rounds see the same machine.
fn warm_over_native(s: &Setup) {
    let quick = std::env::args().any(|a| a == "--test");
    let (rounds, calls) = if quick { (2, 10) } else { (41, 2000) };
    let f = load(&s.host, &s.wasm, Policy::Reuse);
    let event = wasmfn::tooling::sample::api_gateway_v1_of_size(1 << 10);
    let ctx = wasmfn_guest::Context::for_test("hello");
    let plain_warm = |epochs| {
        let options = plain::Options {
            pooling: false,
            epochs,
        };
        plain::Warm::new(&plain::Plain::new(&s.wasm, options))
    };
    let mut plain_bare = plain_warm(false);
    let mut plain_epochs = plain_warm(true);
    // Seconds for `calls` calls of `call`.
    let time = |call: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..calls {
            call();
        }
        start.elapsed().as_secs_f64()
    };
    let mut series: [(&str, Vec<f64>); 3] = [
        ("invoke_warm", Vec::new()),
        ("plain wasmtime call, no epoch checks", Vec::new()),
        ("plain wasmtime call, epoch checks", Vec::new()),
    ];
    for _ in 0..rounds {
        let native = time(&mut || {
            std::hint::black_box(native_hello(&event, &ctx));
        });
        let warm = s.runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..calls {
                let inv = f.invoke(&event, InvokeRequest::default()).await.unwrap();
                std::hint::black_box(inv.result.unwrap());
            }
            start.elapsed().as_secs_f64()
        });
        let bare = time(&mut || {
            std::hint::black_box(plain_bare.call(&event));
        });
        let epochs = time(&mut || {
            std::hint::black_box(plain_epochs.call(&event));
        });
        for ((_, ratios), took) in series.iter_mut().zip([warm, bare, epochs]) {
            ratios.push(took / native);
        }
    }
    if quick {
        // `--test` only checks that the measurement runs; two tiny rounds,
        // the first on a cold instance, are no ratio.
        println!("invoke_warm / native_floor at 1KB, interleaved: ran (not measured under --test)");
        return;
    }
    for (what, ratios) in &mut series {
        ratios.sort_by(f64::total_cmp);
        println!(
            "{what} / native_floor at 1KB, interleaved: {:.2}× (median of {rounds} rounds of {calls} calls each; range {:.2}×–{:.2}×)",
            ratios[rounds / 2],
            ratios[0],
            ratios[rounds - 1]
        );
    }
}

fn benches(c: &mut Criterion) {
    let s = setup();
    warm_over_native(&s);
    compile_and_load(c, &s);
    instantiate(c, &s);
    invoke(c, &s);
    snapshot::interleaved(&s);
    snapshot::group(c, &s);
    snapshot::build(c, &s);
}

criterion_group! {
    name = cold_warm;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(cold_warm);
