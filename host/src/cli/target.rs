//! Resolving what the user named on the command line — a `.wasm` file or a
//! function in the manifest — into a component path and a configuration.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use wasmfn::manifest::DEFAULT_MANIFEST;
use wasmfn::{FunctionConfig, GuestBuilder, HandlerSource, JsBuilder, Manifest, PyBuilder};

/// A function ready to load.
pub struct Target {
    /// The component.
    pub wasm: PathBuf,
    /// Its configuration (before command-line overrides).
    pub config: FunctionConfig,
}

/// Resolves `name`: an existing file (or anything ending in `.wasm`) is a
/// component; anything else is a function name in the manifest.
pub fn resolve(name: &str, manifest: Option<&Path>, cache_dir: &Path) -> anyhow::Result<Target> {
    let as_path = Path::new(name);
    if name.ends_with(".wasm") || as_path.is_file() {
        let stem = as_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("function")
            .to_string();
        return Ok(Target {
            wasm: as_path.to_owned(),
            config: FunctionConfig::new(stem),
        });
    }
    let manifest_path = manifest
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MANIFEST));
    if !manifest_path.is_file() {
        bail!(
            "unknown function `{name}`: it is not a file, and there is no manifest at `{}` to look it up in. Pass a .wasm path, or --manifest FILE",
            manifest_path.display()
        );
    }
    let (manifest, warnings) = Manifest::load(&manifest_path)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let mut config = manifest.function_config(name)?;
    let wasm = component_of(&manifest, name, cache_dir, &mut config)?;
    Ok(Target { wasm, config })
}

/// The component of function `name`: its `.wasm`, or its crate or Node.js
/// module built (JavaScript builds keep their toolchain and output under
/// `cache_dir`, and set the `config`'s code directory).
pub fn component_of(
    manifest: &Manifest,
    name: &str,
    cache_dir: &Path,
    config: &mut FunctionConfig,
) -> anyhow::Result<PathBuf> {
    let source = manifest.handler(name)?;
    if let HandlerSource::Crate(dir) = &source {
        if !dir.join("Cargo.toml").is_file() {
            bail!(
                "the handler of `{name}` in {} is `{}`, which is neither a .wasm file, a crate directory, nor a Node.js module's export (`file.export`, e.g. `index.handler`, with `runtime: nodejs20.x`)",
                manifest.path().display(),
                dir.display()
            );
        }
    }
    build(&source, cache_dir, config).with_context(|| format!("building function `{name}`"))
}

/// Builds what `source` names into a component, or returns it as it is. A
/// JavaScript function's component is the engine, and its bundle becomes
/// `config`'s code directory.
pub fn build(
    source: &HandlerSource,
    cache_dir: &Path,
    config: &mut FunctionConfig,
) -> anyhow::Result<PathBuf> {
    Ok(match source {
        HandlerSource::Wasm(path) => path.clone(),
        HandlerSource::Crate(dir) => GuestBuilder::new()
            .remember_in(cache_dir.join("crates"))
            .build_crate(dir)?,
        HandlerSource::Node(handler) => {
            let built = JsBuilder::new(cache_dir).build(handler)?;
            config.task_root = Some(built.task_root);
            built.engine
        }
        HandlerSource::Python(handler) => {
            let built = PyBuilder::new(cache_dir).build(handler)?;
            config.task_root = Some(built.task_root);
            built.engine
        }
    })
}
