//! `wasmfn serve --watch`: reload a function when its component, its
//! crate's sources or its Node.js module's directory change.
//!
//! Polling modification times twice a second is enough for an edit-save
//! loop and needs no platform file-watching API. A rebuild or reload that
//! fails leaves the running version in place and says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wasmfn::trigger::registry::Registry;
use wasmfn::{FunctionConfig, HandlerSource, Host};

/// Watches every function's source until the server stops.
pub async fn watch(
    host: Arc<Host>,
    cache_dir: PathBuf,
    registry: Arc<Registry>,
    functions: Vec<(String, HandlerSource, FunctionConfig)>,
) {
    let mut stamps: Vec<Option<SystemTime>> = functions.iter().map(|(_, s, _)| stamp(s)).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        for ((name, source, config), last) in functions.iter().zip(stamps.iter_mut()) {
            let now = stamp(source);
            if now == *last {
                continue;
            }
            *last = now;
            eprintln!("wasmfn: {name} changed; reloading");
            let (host, source, mut config) = (host.clone(), source.clone(), config.clone());
            let cache_dir = cache_dir.clone();
            let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let wasm = super::target::build(&source, &cache_dir, &mut config)?;
                Ok(host.load(&wasm, config)?)
            })
            .await;
            match loaded {
                Ok(Ok(function)) => {
                    if let Err(e) = function.prewarm().await {
                        eprintln!("wasmfn: {name} reloaded, but its spares failed: {e}");
                    }
                    registry.replace(name, function);
                    eprintln!("wasmfn: reloaded {name}");
                }
                Ok(Err(e)) => eprintln!(
                    "wasmfn: cannot reload {name}, still serving the previous version: {e:#}"
                ),
                Err(e) => eprintln!("wasmfn: reloading {name} failed: {e}"),
            }
        }
    }
}

/// The latest modification time of a function's source: the `.wasm`, or
/// any file of the crate outside `target/`.
fn stamp(source: &HandlerSource) -> Option<SystemTime> {
    match source {
        HandlerSource::Wasm(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
        HandlerSource::Crate(dir) => newest(dir),
        HandlerSource::Node(handler) => handler.entry.parent().and_then(newest),
        HandlerSource::Python(handler) => newest(&handler.task_root),
    }
}

fn newest(dir: &Path) -> Option<SystemTime> {
    let mut latest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "node_modules" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        let t = if path.is_dir() {
            newest(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        latest = latest.max(t);
    }
    latest
}
