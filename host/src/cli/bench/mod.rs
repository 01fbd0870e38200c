//! `wasmfn bench`: cold, spare and warm latencies of one function, measured
//! in one run so that their ratios mean something.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use serde::Serialize;
use wasmfn::{Function, Host, InvokeRequest, Policy};

use self::series::Series;
use super::Cli;

mod plot;
mod series;

/// Arguments of `wasmfn bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A `.wasm` component, or the name of a function in the manifest.
    function: String,

    /// Cold invocations to time: a new instance each (instantiate + init +
    /// first call); the same number of spare calls is timed too.
    #[arg(long, default_value_t = 200)]
    cold: usize,

    /// Warm invocations to time, on instances kept warm.
    #[arg(long, default_value_t = 5000)]
    warm: usize,

    /// Run the warm invocations from this many concurrent callers too, and
    /// report throughput against one caller.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,

    /// The event JSON (default: a 1 KB API Gateway proxy event).
    #[arg(long, short, value_name = "FILE")]
    event: Option<PathBuf>,

    /// An environment variable for the function; repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = super::invoke::parse_env)]
    env: Vec<(String, String)>,

    /// Hold this many warm instances at once and report the host's RSS.
    #[arg(long, value_name = "N")]
    hold: Option<usize>,

    /// Write the results, with every sample, as JSON.
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,

    /// Draw the latency distributions as an SVG plot.
    #[arg(long, value_name = "OUT.svg")]
    plot: Option<PathBuf>,

    /// The manifest to look function names up in.
    #[arg(long, value_name = "FILE", default_value = wasmfn::manifest::DEFAULT_MANIFEST)]
    manifest: PathBuf,
}

#[derive(Debug, Serialize)]
struct Throughput {
    concurrency: usize,
    invocations: usize,
    seconds: f64,
    per_second: f64,
}

#[derive(Debug, Serialize)]
struct Hold {
    instances: usize,
    rss_before_mib: f64,
    rss_after_mib: f64,
    per_instance_kib: f64,
}

#[derive(Debug, Serialize)]
struct Results {
    function: String,
    event_bytes: usize,
    cpus: usize,
    allocator: String,
    series: Vec<Series>,
    throughput: Vec<Throughput>,
    hold: Option<Hold>,
}

/// Runs `wasmfn bench`.
pub fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.cold == 0 || args.warm == 0 || args.concurrency == 0 {
        bail!("--cold, --warm and --concurrency must be at least 1");
    }
    let event = match &args.event {
        Some(path) => super::invoke::read_event(Some(path))?,
        None => wasmfn::tooling::sample::api_gateway_v1_of_size(1024),
    };
    let mut target =
        super::target::resolve(&args.function, Some(&args.manifest), &cli.cache_root())?;
    cli.apply_pool_flags(&mut target.config)?;
    for (k, v) in &args.env {
        target
            .config
            .environment
            .retain(|(existing, _)| existing != k);
        target.config.environment.push((k.clone(), v.clone()));
    }
    let mut options = cli.host_options();
    // Every held instance, spare and concurrent caller needs a pool slot.
    let needed = args.hold.unwrap_or(0) + args.concurrency + 16;
    options.engine.max_instances = options.engine.max_instances.max(needed as u32);
    let host = Host::new(options)?;
    let mut warm_config = target.config.clone();
    warm_config.pool.policy = Policy::Reuse;
    let warm = super::load_with_progress(&host, &target.wasm, warm_config)?;
    let mut fresh_config = target.config;
    fresh_config.pool.policy = Policy::Fresh;
    let fresh = host.load(&target.wasm, fresh_config)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.concurrency.max(1))
        .enable_all()
        .build()?;
    let results = runtime.block_on(measure(&host, &warm, &fresh, &event, args))?;

    print_table(&results);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&results)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wasmfn: wrote {}", path.display());
    }
    if let Some(path) = &args.plot {
        plot::latency_svg(path, &results.function, &results.series)?;
        eprintln!("wasmfn: wrote {}", path.display());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn measure(
    host: &Host,
    warm: &Arc<Function>,
    fresh: &Arc<Function>,
    event: &[u8],
    args: &BenchArgs,
) -> anyhow::Result<Results> {
    // Check once that the function works at all with this event.
    let probe = warm.invoke(event, InvokeRequest::default()).await?;
    if let Err(e) = probe.result {
        bail!("the function fails on this event, so there is nothing to measure: {e}");
    }

    // Cold: the fresh policy without spares creates an instance (and runs
    // init) inside every request.
    let mut cold = Vec::with_capacity(args.cold);
    let faults = Faults::start();
    for _ in 0..args.cold {
        let start = Instant::now();
        let inv = fresh.invoke(event, InvokeRequest::default()).await?;
        cold.push(start.elapsed());
        inv.result
            .map_err(|e| anyhow::anyhow!("cold invocation failed: {e}"))?;
    }
    let cold_faults = faults.taken();

    // Spare: an instance made and initialized beforehand, called once.
    // Its faults are those of the timed call alone.
    let mut spare = Vec::with_capacity(args.cold);
    let mut spare_faults = Some(0);
    for _ in 0..args.cold {
        let (instance, _, _) = warm.cold_instance().await;
        let mut instance = instance.map_err(|e| anyhow::anyhow!("instantiation failed: {e}"))?;
        let faults = Faults::start();
        let start = Instant::now();
        let result = warm.invoke_on(&mut instance, event).await;
        spare.push(start.elapsed());
        spare_faults = spare_faults.zip(faults.taken()).map(|(a, b)| a + b);
        result.map_err(|e| anyhow::anyhow!("spare invocation failed: {e}"))?;
    }

    // Warm, one caller, then `concurrency` callers.
    let faults = Faults::start();
    let (warm_samples, one) = warm_run(warm, event, args.warm, 1).await?;
    let warm_faults = faults.taken();
    let mut throughput = vec![one];
    if args.concurrency > 1 {
        let (_, many) = warm_run(warm, event, args.warm, args.concurrency).await?;
        throughput.push(many);
    }

    let hold = match args.hold {
        Some(n) => Some(hold_instances(warm, event, n).await?),
        None => None,
    };

    Ok(Results {
        function: warm.config().name.clone(),
        event_bytes: event.len(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        allocator: format!("{:?}", host.allocator()),
        series: vec![
            Series::new("cold", cold).with_faults(cold_faults),
            Series::new("spare", spare).with_faults(spare_faults),
            Series::new("warm", warm_samples).with_faults(warm_faults),
        ],
        throughput,
        hold,
    })
}

async fn warm_run(
    f: &Arc<Function>,
    event: &[u8],
    total: usize,
    callers: usize,
) -> anyhow::Result<(Vec<Duration>, Throughput)> {
    let event: Arc<[u8]> = event.into();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let (f, event) = (f.clone(), event.clone());
        let n = total / callers + usize::from(caller < total % callers);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let inv = f.invoke(&event, InvokeRequest::default()).await?;
                samples.push(t.elapsed());
                inv.result
                    .map_err(|e| anyhow::anyhow!("warm invocation failed: {e}"))?;
            }
            anyhow::Ok(samples)
        }));
    }
    let mut samples = Vec::with_capacity(total);
    for task in tasks {
        samples.extend(task.await??);
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok((
        samples,
        Throughput {
            concurrency: callers,
            invocations: total,
            seconds,
            per_second: total as f64 / seconds,
        },
    ))
}

async fn hold_instances(f: &Arc<Function>, event: &[u8], n: usize) -> anyhow::Result<Hold> {
    let before = rss_mib();
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let (instance, _, _) = f.cold_instance().await;
        let mut instance =
            instance.map_err(|e| anyhow::anyhow!("instance {i} of {n} failed: {e}"))?;
        // Warm means it has served a request.
        f.invoke_on(&mut instance, event)
            .await
            .map_err(|e| anyhow::anyhow!("instance {i} failed its call: {e}"))?;
        held.push(instance);
    }
    let after = rss_mib();
    drop(held);
    Ok(Hold {
        instances: n,
        rss_before_mib: before,
        rss_after_mib: after,
        per_instance_kib: (after - before) * 1024.0 / n.max(1) as f64,
    })
}

/// The process's minor page faults from a point on (Linux; `None`
/// elsewhere). A cold start's faults are most of what separates it from a
/// spare: each page an instance writes into its copy-on-write memory image,
/// or reads after the pool's reset gave it back, is one.
struct Faults(Option<u64>);

impl Faults {
    fn start() -> Self {
        Faults(minor_faults())
    }

    fn taken(&self) -> Option<u64> {
        Some(minor_faults()?.saturating_sub(self.0?))
    }
}

/// `minflt`, the tenth field of `/proc/self/stat` (the seventh after the
/// command's closing parenthesis, which may itself hold spaces).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    fields.split_whitespace().nth(7)?.parse().ok()
}

/// The process's resident set, in MiB (Linux; 0 elsewhere).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn print_table(r: &Results) {
    let warm_p50 = r
        .series
        .iter()
        .find(|s| s.kind == "warm")
        .map_or(1.0, |s| s.p50_us);
    println!(
        "{} · {} B event · {} CPUs · {} allocator",
        r.function, r.event_bytes, r.cpus, r.allocator
    );
    println!(
        "{:<6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>9} {:>12}",
        "kind", "n", "p50", "p90", "p99", "max", "p50/warm", "faults/call"
    );
    for s in &r.series {
        let faults = s
            .faults_per_call
            .map_or_else(|| "-".to_owned(), |f| format!("{f:.1}"));
        println!(
            "{:<6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>8.2}× {:>12}",
            s.kind,
            s.samples_us.len(),
            us(s.p50_us),
            us(s.p90_us),
            us(s.p99_us),
            us(s.max_us),
            s.p50_us / warm_p50,
            faults
        );
    }
    for t in &r.throughput {
        println!(
            "warm throughput, {} caller{}: {:.0} invocations/s",
            t.concurrency,
            if t.concurrency == 1 { "" } else { "s" },
            t.per_second
        );
    }
    if let [one, many] = &r.throughput[..] {
        println!(
            "scaling at concurrency {}: {:.2}×",
            many.concurrency,
            many.per_second / one.per_second
        );
    }
    if let Some(h) = &r.hold {
        println!(
            "{} warm instances held: RSS {:.1} MiB → {:.1} MiB ({:.1} KiB each)",
            h.instances, h.rss_before_mib, h.rss_after_mib, h.per_instance_kib
        );
    }
}

fn us(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} ms", v / 1000.0)
    } else {
        format!("{v:.1} µs")
    }
}
