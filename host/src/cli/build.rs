//! `wasmfn build`: builds a manifest's functions ahead of time (crates with
//! cargo, Node.js modules with the JavaScript toolchain) and compiles their
//! artifacts into the cache, so that the first `invoke` or `serve` after it
//! starts without building or compiling anything.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use wasmfn::{ArtifactSource, Host, Manifest};

use super::Cli;

/// Arguments of `wasmfn build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The functions to build (default: every function of the manifest).
    #[arg(value_name = "FUNCTION")]
    functions: Vec<String>,

    /// The manifest (serverless.yml shape).
    #[arg(long, value_name = "FILE", default_value = wasmfn::manifest::DEFAULT_MANIFEST)]
    manifest: PathBuf,
}

/// Runs `wasmfn build`: one line per function on stdout.
pub fn run(cli: &Cli, args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let (manifest, warnings) = Manifest::load(&args.manifest)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let names: Vec<String> = if args.functions.is_empty() {
        manifest.functions.keys().cloned().collect()
    } else {
        args.functions.clone()
    };
    if names.is_empty() {
        bail!("{} has no functions to build", args.manifest.display());
    }
    let host = Host::new(cli.host_options())?;
    for name in &names {
        let mut config = manifest.function_config(name)?;
        let wasm = super::target::component_of(&manifest, name, &cli.cache_root(), &mut config)?;
        let code = config.task_root.clone();
        let function = super::load_with_progress(&host, &wasm, config)?;
        let stats = function.load_stats();
        let artifact = match stats.source {
            ArtifactSource::Cache => "cached".to_string(),
            ArtifactSource::Compiled => {
                format!("compiled in {:.0} ms", stats.compile.as_secs_f64() * 1000.0)
            }
        };
        let code = code
            .map(|dir| format!(", code {}", dir.display()))
            .unwrap_or_default();
        println!(
            "{name}: component {}{code}, artifact {artifact}",
            wasm.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
