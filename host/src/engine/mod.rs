//! The wasmtime engine every function shares: configuration, the pooling
//! allocator probe and the epoch ticker that enforces timeouts.
//!
//! One [`WasmEngine`] serves a whole host. Functions differ in their
//! `InstancePre` and limits, not in the engine, so compiled code, the pooling
//! allocator's slots and the ticker thread are paid for once.
//!
//! SnapStart's snapshots are taken here too (`snapshot`): on an engine of
//! their own, made for each one.
//!
//! Compiling (Cranelift, and the snapshots, whose instrumented components
//! are compiled) is the `compiler` feature's; a build without it
//! (`without_compiler`) only maps precompiled artifacts, and says so where
//! it would have compiled.
//!
//! May import: `function` and everything below it. `Host` (in `host`) is
//! the top of the core: it links and loads functions.

pub mod cache;
pub mod host;
#[cfg(feature = "compiler")]
pub mod snapshot;
pub mod wasm_file;
#[cfg(not(feature = "compiler"))]
mod without_compiler;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. Timeouts are checked on each tick, so this
/// is the granularity of `Sandbox.Timedout` (a 1 s timeout fires within
/// ~1 ms of its deadline). One tick costs the ticker thread a wake-up and
/// running guests a relaxed load, which is noise next to any handler.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// The pooling allocator: pre-reserved slots, copy-on-write memory images,
    /// microsecond instantiation.
    Pooling,
    /// Plain `mmap` per instance; used when the pool's address space cannot be
    /// reserved (for example under `ulimit -v`).
    OnDemand,
}

/// Whether to use the pooling allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolingMode {
    /// Try pooling, fall back to on-demand if its reservation fails.
    #[default]
    Auto,
    /// Pooling or nothing: fail if the reservation fails.
    Required,
    /// Never pool.
    Off,
}

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Whether to pool instances.
    pub pooling: PoolingMode,
    /// How many component instances may be alive at once across all
    /// functions when pooling. Each takes a slot of address space (not
    /// memory) up front.
    pub max_instances: u32,
    /// The largest linear memory any function may grow to, in MiB. Lambda's
    /// `memorySize` is capped per function by a `ResourceLimiter`; this is the
    /// size of each pool slot, so it must cover the largest `memorySize`.
    pub max_memory_mb: u64,
    /// Compile for this target triple with its baseline CPU features instead
    /// of detecting the host's. Packages set it so that artifacts built on one
    /// machine (even for another architecture) match the engine that loads
    /// them on Lambda, which sets it to its own triple.
    pub target: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            pooling: PoolingMode::Auto,
            // 1000 live instances covers a busy laptop-sized host; each slot
            // reserves virtual address space only.
            max_instances: 1000,
            // wasm32 memories cannot exceed 4 GiB; Lambda allows up to 10 GiB
            // per function, which a 32-bit guest could never use anyway.
            max_memory_mb: 4096,
            target: None,
        }
    }
}

/// The shared engine plus the thread that ticks its epoch.
pub struct WasmEngine {
    engine: Engine,
    allocator: Allocator,
    ticker: Option<Ticker>,
}

impl WasmEngine {
    /// Builds the engine, probing for the pooling allocator as asked.
    pub fn new(options: &EngineOptions) -> anyhow::Result<Self> {
        Self::with_config(options, base_config)
    }

    /// The engine a SnapStart `init` runs on. The component instrumented
    /// for one snapshot runs once, so it is compiled by Winch, wasmtime's
    /// baseline compiler, in a fraction of Cranelift's time (the snapshot
    /// itself is compiled by the host's engine, with Cranelift). A component
    /// Winch cannot compile is compiled by Cranelift without optimizing.
    #[cfg(feature = "compiler")]
    pub fn for_snapshots(options: &EngineOptions, winch: bool) -> anyhow::Result<Self> {
        let options = EngineOptions {
            pooling: PoolingMode::Off,
            ..options.clone()
        };
        let config = if winch {
            || {
                let mut config = base_config();
                config.strategy(wasmtime::Strategy::Winch);
                config
            }
        } else {
            || {
                let mut config = base_config();
                config.cranelift_opt_level(wasmtime::OptLevel::None);
                config
            }
        };
        Self::with_config(&options, config)
    }

    fn with_config(options: &EngineOptions, base_config: fn() -> Config) -> anyhow::Result<Self> {
        let base = || -> anyhow::Result<Config> {
            let mut config = base_config();
            if let Some(target) = &options.target {
                config
                    .target(target)
                    .map_err(|e| anyhow::anyhow!("target `{target}`: {e:#}"))?;
            }
            Ok(config)
        };
        let pooled = || -> anyhow::Result<Config> {
            let mut config = base()?;
            config
                .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(options)));
            Ok(config)
        };
        let (engine, allocator) = match options.pooling {
            PoolingMode::Off => (Engine::new(&base()?)?, Allocator::OnDemand),
            PoolingMode::Required => (
                Engine::new(&pooled()?).map_err(|e| {
                    anyhow::anyhow!("cannot reserve address space for the pooling allocator: {e:#}")
                })?,
                Allocator::Pooling,
            ),
            PoolingMode::Auto => match Engine::new(&pooled()?) {
                Ok(engine) => (engine, Allocator::Pooling),
                Err(e) => {
                    tracing::warn!(
                        "pooling allocator unavailable ({e:#}); falling back to on-demand \
                         allocation, which makes cold starts slower"
                    );
                    (Engine::new(&base()?)?, Allocator::OnDemand)
                }
            },
        };
        let ticker = Ticker::start(engine.clone());
        Ok(WasmEngine {
            engine,
            allocator,
            ticker: Some(ticker),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Which allocator the probe settled on.
    pub fn allocator(&self) -> Allocator {
        self.allocator
    }
}

impl Drop for WasmEngine {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

/// Settings shared by both allocators. They are part of the artifact cache
/// key (through `Engine::precompile_compatibility_hash`), so changing one
/// recompiles every cached function once.
fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Timeouts: compiled code checks the epoch at loop headers and function
    // entries; a Store-level callback decides between yield and trap.
    config.epoch_interruption(true);
    // Deep recursion in a guest must trap, not overflow a host stack.
    config.max_wasm_stack(1 << 20);
    config.async_stack_size(2 << 20);
    // The handler ABI is synchronous (WASI 0.2); the component-model-async
    // machinery would only add per-call and per-store bookkeeping.
    config.concurrency_support(false);
    // `WASMFN_PROFILE=perfmap` (or `jitdump`) names guest functions for
    // `perf`, as `wasmtime run --profile` does; it changes no compiled code.
    match std::env::var("WASMFN_PROFILE").as_deref() {
        Ok("perfmap") => {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Ok("jitdump") => {
            config.profiler(wasmtime::ProfilingStrategy::JitDump);
        }
        _ => {}
    }
    config
}

fn pooling_config(options: &EngineOptions) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    let instances = options.max_instances.max(1);
    pool.total_component_instances(instances);
    // A Rust wasm32-wasip2 component is a handful of core instances (the
    // program, the WASI adapter and shims) with one or two memories.
    pool.max_core_instances_per_component(16);
    pool.total_core_instances(instances.saturating_mul(8));
    pool.max_memories_per_component(4);
    pool.total_memories(instances.saturating_mul(2));
    pool.max_tables_per_component(8);
    pool.total_tables(instances.saturating_mul(4));
    // Every async call runs on a fiber stack; one per live instance.
    pool.total_stacks(instances);
    pool.max_memory_size((options.max_memory_mb as usize) << 20);
    // When a slot is freed, the pages its instance dirtied (stack top, data,
    // the heap a call used) are reset in place and stay mapped, up to 1 MiB,
    // instead of being dropped with madvise: the next instance of the same
    // function in that slot then runs `init` and its first call without a
    // page fault per page. PAGEMAP_SCAN (Linux 6.7+) finds exactly the
    // dirty pages; without it the lowest 1 MiB is reset by memset. Measured
    // on `hello`: cold start 77 → 44 µs, first call on a spare 27 → 19 µs.
    pool.linear_memory_keep_resident(1 << 20);
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    // A funcref table is filled lazily, entry by entry, so an instance dirties
    // the pages of every entry it calls through. JavaScript's and Python's
    // engines have tables of 48–64 KiB; with 16 KiB kept, the rest faulted
    // again in every instance. Measured (`perf stat` over `wasmfn bench`,
    // faults per instance made): JS 100 → 90, cold p50 578 → 558 µs;
    // Python 1140 → 966, 6.2 → 5.4 ms. With PAGEMAP_SCAN only the dirty
    // pages are zeroed, so a larger table costs nothing more.
    pool.table_keep_resident(128 << 10);
    pool
}

/// The custom section every snapshot ends with, so that a snapshot is known
/// as one wherever it goes (a package ships snapshots as the functions'
/// components): its instances never run `init`.
const MARK: &[u8] = b"wasmfn:snapshot";

/// Whether `wasm` is a snapshot this host took.
pub fn is_snapshot(wasm: &[u8]) -> bool {
    wasm.ends_with(&mark_section())
}

/// Where what a snapshot's `init` left in `/tmp` is kept: beside the
/// snapshot, in the cache and in a package alike (`hello.wasm`, `hello.tmp/`).
/// Every restored instance's `/tmp` starts as a copy of it.
pub fn snapshot_tmp(snapshot: &Path) -> PathBuf {
    snapshot.with_extension("tmp")
}

/// The custom section: id 0, its size, the name's length, the name.
pub(super) fn mark_section() -> Vec<u8> {
    let mut section = vec![0, MARK.len() as u8 + 1, MARK.len() as u8];
    section.extend_from_slice(MARK);
    section
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`].
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Ticker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wasmfn-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker thread");
        Ticker { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
