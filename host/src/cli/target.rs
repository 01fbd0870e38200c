//! Resolving what the user named on the command line — a `.wasm` file or a
//! function in the manifest — into a component path and a configuration.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use wasmfn::manifest::DEFAULT_MANIFEST;
use wasmfn::{FunctionConfig, GuestBuilder, HandlerSource, Manifest};

/// A function ready to load.
pub struct Target {
    /// The component.
    pub wasm: PathBuf,
    /// Its configuration (before command-line overrides).
    pub config: FunctionConfig,
}

/// Resolves `name`: an existing file (or anything ending in `.wasm`) is a
/// component; anything else is a function name in the manifest.
pub fn resolve(name: &str, manifest: Option<&Path>) -> anyhow::Result<Target> {
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
    let config = manifest.function_config(name)?;
    let wasm = component_of(&manifest, name)?;
    Ok(Target { wasm, config })
}

/// The component of function `name`: its `.wasm`, or its crate built.
pub fn component_of(manifest: &Manifest, name: &str) -> anyhow::Result<PathBuf> {
    Ok(match manifest.handler(name)? {
        HandlerSource::Wasm(path) => path,
        HandlerSource::Crate(dir) => {
            if !dir.join("Cargo.toml").is_file() {
                bail!(
                    "the handler of `{name}` in {} is `{}`, which is neither a .wasm file nor a crate directory",
                    manifest.path().display(),
                    dir.display()
                );
            }
            GuestBuilder::new()
                .build_crate(&dir)
                .with_context(|| format!("building function `{name}`"))?
        }
    })
}
