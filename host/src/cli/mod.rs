//! Command-line parsing and the subcommands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod invoke;
mod plot;
mod progress;
mod target;

/// Run AWS-Lambda-style handlers as WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "wasmfn", version, about, long_about = None)]
pub struct Cli {
    /// Directory of precompiled artifacts (default: ~/.cache/wasmfn).
    #[arg(long, global = true, env = "WASMFN_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Never use the pooling allocator (instantiate on demand).
    #[arg(long, global = true)]
    no_pooling: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Invoke a function once and print its response, as `aws lambda invoke`
    /// would, with Lambda's START / END / REPORT lines on stderr.
    Invoke(invoke::InvokeArgs),
    /// Measure cold, spare and warm invocation latency (p50/p90/p99/max),
    /// warm throughput and, optionally, the memory of many warm instances.
    Bench(bench::BenchArgs),
}

/// Parses the command line and runs it; errors print as one line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASMFN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
    let result = match &cli.command {
        Command::Invoke(args) => invoke::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args),
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
