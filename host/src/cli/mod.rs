//! Command-line parsing and the subcommands.
//!
//! The binary's top layer: it may use every public part of the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod build;
mod bundle;
mod generate_event;
mod invoke;
mod lambda;
mod new;
mod package;
mod progress;
mod serve;
mod target;
mod watch;

/// Run AWS-Lambda-style handlers as WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "wasmfn", version, about, long_about = None)]
pub struct Cli {
    /// Directory of precompiled artifacts (default: ~/.cache/wasmfn).
    #[arg(long, global = true, env = "WASMFN_CACHE_DIR", value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Never use the pooling allocator (instantiate on demand).
    #[arg(long, global = true)]
    no_pooling: bool,

    /// Instance policy for every function: `reuse` (Lambda's warm
    /// semantics) or `fresh` (a never-used instance per invocation).
    #[arg(long, global = true, value_name = "POLICY")]
    policy: Option<wasmfn::Policy>,

    /// Retire a warm instance after this many invocations.
    #[arg(long, global = true, value_name = "N")]
    max_invocations: Option<u64>,

    /// Retire a warm instance idle for this many seconds.
    #[arg(long, global = true, value_name = "SECONDS")]
    idle_timeout: Option<f64>,

    /// Pre-warmed spare instances to keep per function (provisioned
    /// concurrency).
    #[arg(long, global = true, value_name = "N")]
    spares: Option<usize>,

    /// The most concurrent invocations per function (reserved concurrency).
    #[arg(long, global = true, value_name = "N")]
    reserved_concurrency: Option<u32>,

    /// SnapStart for every function: run `init` once, snapshot it, and
    /// start every instance from the snapshot (as `snapStart: true`).
    #[arg(long, global = true)]
    snap_start: bool,

    /// Write nothing below this level (TRACE, DEBUG, INFO, WARN, ERROR,
    /// FATAL), over every function's own `logs` levels: `WARN` keeps a busy
    /// server quiet (no START / END / REPORT, no request lines).
    #[arg(long, global = true, value_name = "LEVEL", value_parser = parse_level)]
    log_level: Option<wasmfn::LogLevel>,

    #[command(subcommand)]
    command: Command,
}

fn parse_level(s: &str) -> Result<wasmfn::LogLevel, String> {
    wasmfn::LogLevel::parse(s).ok_or_else(|| {
        format!("`{s}` is not a log level: TRACE, DEBUG, INFO, WARN, ERROR or FATAL")
    })
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Invoke a function once and print its response, as `aws lambda invoke`
    /// would, with Lambda's START / END / REPORT lines on stderr.
    Invoke(invoke::InvokeArgs),
    /// Measure cold, spare and warm invocation latency (p50/p90/p99/max),
    /// warm throughput and, optionally, the memory of many warm instances.
    Bench(bench::BenchArgs),
    /// Serve every function of the manifest: the Lambda Invoke API (boto3,
    /// the aws CLI), API Gateway routes and Function URLs.
    Serve(serve::ServeArgs),
    /// Build functions ahead of time (crates with cargo, Node.js modules
    /// with the JavaScript toolchain) and compile their artifacts into the
    /// cache.
    Build(build::BuildArgs),
    /// Run as the AWS Lambda custom runtime (what `bootstrap` does).
    Lambda,
    /// Build deployable zips for Lambda (provided.al2023): bootstrap,
    /// components, precompiled artifacts per architecture, and a SAM
    /// template.
    Package(package::PackageArgs),
    /// Print a realistic sample event of an event source (API Gateway, S3,
    /// SQS, SNS, DynamoDB, Kinesis, EventBridge, ALB, Function URL), as
    /// `sam local generate-event` does.
    GenerateEvent(generate_event::GenerateEventArgs),
    /// Create a guest crate from a template (hello, api, s3, sqs, dynamodb,
    /// schedule), ready to build and invoke.
    New(new::NewArgs),
}

/// Parses the command line and runs it; errors print as one line.
pub fn main() -> ExitCode {
    // Lambda starts a custom runtime as `bootstrap`, with no arguments.
    let invoked_as_bootstrap = std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n == "bootstrap")
        })
        .unwrap_or(false);
    let cli = if invoked_as_bootstrap {
        Cli::parse_from(["wasmfn", "lambda"])
    } else {
        Cli::parse()
    };
    // Each request's line is INFO; a floor above that drops it too.
    let quiet = cli.log_level.is_some_and(|l| l > wasmfn::LogLevel::Info);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASMFN_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if quiet {
                    "warn"
                } else {
                    "warn,wasmfn::request=info"
                })
            }),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
    let result = match &cli.command {
        Command::Invoke(args) => invoke::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args),
        Command::Serve(args) => serve::run(&cli, args),
        Command::Build(args) => build::run(&cli, args),
        Command::Lambda => lambda::run(&cli),
        Command::Package(args) => package::run(&cli, args),
        Command::GenerateEvent(args) => generate_event::run(args),
        Command::New(args) => new::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wasmfn: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

impl Cli {
    /// Applies the pooling flags over a function's own settings.
    fn apply_pool_flags(&self, config: &mut wasmfn::FunctionConfig) -> anyhow::Result<()> {
        if let Some(policy) = self.policy {
            config.pool.policy = policy;
        }
        if let Some(n) = self.max_invocations {
            config.pool.max_invocations = Some(n);
        }
        if let Some(secs) = self.idle_timeout {
            config.pool.idle_timeout =
                Some(std::time::Duration::try_from_secs_f64(secs).map_err(|_| {
                    anyhow::anyhow!("--idle-timeout {secs} is not a number of seconds")
                })?);
        }
        if let Some(n) = self.spares {
            config.pool.spares = n;
        }
        if let Some(n) = self.reserved_concurrency {
            config.pool.reserved_concurrency = Some(n);
        }
        if self.snap_start {
            config.snap_start = true;
        }
        Ok(())
    }

    /// The funnel's floor of `--log-level` (none: every function's own).
    fn log_floor(&self) -> wasmfn::LogLevel {
        self.log_level.unwrap_or(wasmfn::LogLevel::Trace)
    }

    /// Where artifacts, and the JavaScript toolchain and builds, are kept.
    fn cache_root(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(wasmfn::ArtifactCache::default_dir)
    }

    /// The host options the global flags describe.
    fn host_options(&self) -> wasmfn::HostOptions {
        let mut options = wasmfn::HostOptions::default();
        if let Some(dir) = &self.cache_dir {
            options.cache_dir = dir.clone();
        }
        if self.no_pooling {
            options.engine.pooling = wasmfn::PoolingMode::Off;
        }
        options
    }

    /// [`Cli::host_options`] for a process that runs one function: its
    /// pool has room for one invocation and the function's spares (Lambda
    /// mode counts the environment's further concurrency among them), and
    /// nothing else.
    fn host_options_for(&self, config: &wasmfn::FunctionConfig) -> wasmfn::HostOptions {
        let spares = u32::try_from(config.pool.spares).unwrap_or(u32::MAX);
        self.host_options().sized_for(spares.saturating_add(1))
    }
}

/// Loads a function, showing a progress line while Cranelift compiles it
/// (the first time this engine configuration sees the component).
fn load_with_progress(
    host: &wasmfn::Host,
    wasm: &std::path::Path,
    config: wasmfn::FunctionConfig,
) -> anyhow::Result<std::sync::Arc<wasmfn::Function>> {
    let name = config.name.clone();
    let function = host.load_observed(wasm, config, &progress::Spinner::new(&name))?;
    Ok(function)
}
