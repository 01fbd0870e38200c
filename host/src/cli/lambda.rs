//! `wasmfn lambda`: run as the Lambda custom runtime. Also what the binary
//! does when it is invoked as `bootstrap`, as Lambda invokes it.
//!
//! It reads Lambda's standard environment: `_HANDLER` (a `.wasm` path
//! relative to `LAMBDA_TASK_ROOT`, or a function name in the packaged
//! `serverless.yml`), `AWS_LAMBDA_FUNCTION_NAME`, `_MEMORY_SIZE`, `_VERSION`
//! and `AWS_LAMBDA_RUNTIME_API`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use wasmfn::engine::host::LoadObserver;
use wasmfn::{FunctionConfig, HandlerSource, Host, Manifest};

use super::Cli;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .map_err(|_| anyhow!("{name} is not set; is this running on Lambda (or its emulator)?"))
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`: how many invocations the execution
/// environment may be given at once (unset on Lambda's default, one).
fn max_concurrency() -> Option<usize> {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
}

/// Runs the runtime loop; on a failed start, reports to `/init/error`.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let runtime_api = wasmfn::trigger::lambda::RuntimeApi::parse(&env("AWS_LAMBDA_RUNTIME_API")?)?;
    // What lambda_runtime reads of the environment and panics without.
    env("AWS_LAMBDA_FUNCTION_NAME")?;
    env("AWS_LAMBDA_FUNCTION_VERSION")?;
    let memory = env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?;
    if memory.parse::<i32>().is_err() {
        bail!("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is `{memory}`, not the function's memory in MB (e.g. 128)");
    }
    // One invocation at a time (Lambda's default) needs no worker threads:
    // starting them is part of every cold start.
    let tokio = if max_concurrency().is_some_and(|n| n > 1) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()?;
    // Everything up to the first `/next` is Lambda's init phase, reported
    // as Init Duration: engine, artifact mapping, InstancePre, spares.
    let (function, timeout) = match init(cli).and_then(|(f, timeout)| {
        tokio
            .block_on(f.prewarm())
            .map_err(|e| anyhow!("the function's init failed: {e}"))?;
        Ok((f, timeout))
    }) {
        Ok(f) => f,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("wasmfn: init failed: {message}");
            tokio
                .block_on(wasmfn::trigger::lambda::report_init_error(
                    &runtime_api,
                    "Runtime.InitError",
                    &message,
                ))
                .context("reporting the init error to the Runtime API")?;
            return Ok(ExitCode::from(1));
        }
    };
    tokio
        .block_on(wasmfn::trigger::lambda::run(function, timeout))
        .map_err(|e| anyhow!("runtime loop: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The function, and its own timeout (the manifest's), which bounds an
/// event whose deadline comes as the time left.
fn init(cli: &Cli) -> anyhow::Result<(std::sync::Arc<wasmfn::Function>, Duration)> {
    let task_root =
        PathBuf::from(std::env::var("LAMBDA_TASK_ROOT").unwrap_or_else(|_| "/var/task".into()));
    let handler = env("_HANDLER")?;
    let (wasm, mut config) = resolve(&task_root, &handler)?;
    if let Ok(name) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
        config.name = name;
    }
    if let Some(mb) = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|m| m.parse().ok())
    {
        config.memory_mb = mb;
    }
    if let Ok(version) = std::env::var("AWS_LAMBDA_FUNCTION_VERSION") {
        config.version = version;
    }
    if let Ok(region) = std::env::var("AWS_REGION") {
        config.region = region;
    }
    // Lambda gives the function its execution role's credentials; here they
    // are the runtime's. Nothing else of the runtime's environment is passed.
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        if let Ok(value) = std::env::var(key) {
            if !config.environment.iter().any(|(k, _)| k == key) {
                config.environment.push((key.to_string(), value));
            }
        }
    }
    // Lambda enforces the timeout through each event's deadline.
    let timeout = std::mem::replace(&mut config.timeout, Duration::from_secs(900));
    let in_flight = max_concurrency().unwrap_or(1);
    // One pooled instance per in-flight invocation, ready before /next.
    config.pool.spares = config.pool.spares.max(in_flight.saturating_sub(1));
    cli.apply_pool_flags(&mut config)?;

    let packaged = task_root.join(super::bundle::ARTIFACTS_DIR);
    // One execution environment: a pool for its in-flight invocations and
    // its spares, and nothing more. Both at once: each in-flight invocation
    // holds an instance while the spare it took is made again beside it,
    // and a refill must not take the slot the next invocation needs.
    let slots = u32::try_from(config.pool.spares.saturating_add(in_flight)).unwrap_or(u32::MAX);
    let mut options = cli.host_options().sized_for(slots);
    // Baseline CPU features for this architecture, exactly as `wasmfn
    // package` compiled them, so that shipped artifacts match.
    options.engine.target = Some(super::bundle::host_triple().to_string());
    if cli_cache_dir_unset(cli) && packaged.is_dir() {
        options.cache_dir = packaged.clone();
    }
    let host = Host::new(options.clone())?;
    match host.load_observed(&wasm, config.clone(), &Loud) {
        Ok(f) => Ok((f, timeout)),
        // The package's directory is read-only on Lambda: compile into /tmp.
        Err(wasmfn::LoadError::Cache { .. }) => {
            options.cache_dir = std::env::temp_dir().join("wasmfn-cache");
            let host = Host::new(options)?;
            Ok((host.load_observed(&wasm, config, &Loud)?, timeout))
        }
        Err(e) => Err(e.into()),
    }
}

fn cli_cache_dir_unset(cli: &Cli) -> bool {
    cli.cache_dir.is_none()
}

/// `_HANDLER` → the component and its manifest configuration.
fn resolve(task_root: &Path, handler: &str) -> anyhow::Result<(PathBuf, FunctionConfig)> {
    if handler.ends_with(".wasm") {
        let wasm = task_root.join(handler);
        let name = Path::new(handler)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("function")
            .to_string();
        return Ok((wasm, FunctionConfig::new(name)));
    }
    let manifest_path = task_root.join(wasmfn::manifest::DEFAULT_MANIFEST);
    if !manifest_path.is_file() {
        bail!("_HANDLER is `{handler}`: not a .wasm path, and the package has no serverless.yml to look it up in");
    }
    let (manifest, _) = Manifest::load(&manifest_path)?;
    let config = manifest.function_config(handler)?;
    match manifest.handler(handler)? {
        HandlerSource::Wasm(path) => Ok((path, config)),
        HandlerSource::Crate(dir) => bail!(
            "function `{handler}` points at the crate {}; on Lambda it must be a built .wasm (use `wasmfn package`)",
            dir.display()
        ),
        HandlerSource::Node(node) => bail!(
            "function `{handler}` points at the Node.js module {}; on Lambda it must be a built .wasm (use `wasmfn package`)",
            node.entry.display()
        ),
        HandlerSource::Python(python) => bail!(
            "function `{handler}` points at the Python module {}; on Lambda it must be a built .wasm (use `wasmfn package`)",
            python.module.display()
        ),
    }
}

/// Says loudly when a cold start compiles: on Lambda that is a packaging
/// mistake costing every cold start.
struct Loud;

impl LoadObserver for Loud {
    fn compiling(&self, wasm: &Path) {
        eprintln!(
            "wasmfn: WARNING: no precompiled artifact for this CPU and engine in the package; compiling {} now. Every cold start pays for this until the package ships artifacts (wasmfn package).",
            wasm.display()
        );
    }
    fn compiled(&self, wasm: &Path, took: Duration, _artifact: &Path) {
        eprintln!(
            "wasmfn: compiled {} in {:.0} ms",
            wasm.display(),
            took.as_secs_f64() * 1000.0
        );
    }
}
