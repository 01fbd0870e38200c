//! A progress line while Cranelift compiles a component for the first time.

use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Shows a spinner on stderr (when it is a terminal) during a compile, and
/// a one-line summary when it is done.
pub struct Spinner {
    name: String,
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Spinner {
    /// A spinner for function `name`.
    pub fn new(name: &str) -> Self {
        Spinner {
            name: name.to_string(),
            bar: std::sync::Mutex::new(None),
        }
    }
}

impl wasmfn::engine::host::LoadObserver for Spinner {
    fn compiling(&self, wasm: &Path) {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!(
            "compiling {} ({}), once: the artifact is cached",
            self.name,
            wasm.display()
        ));
        bar.enable_steady_tick(Duration::from_millis(80));
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn snapshotting(&self, wasm: &Path) {
        eprintln!(
            "wasmfn: snapStart: running the init of {} ({}) for its snapshot, once: it is cached",
            self.name,
            wasm.display()
        );
    }

    fn snapshotted(&self, _wasm: &Path, took: Duration) {
        eprintln!(
            "wasmfn: snapStart: snapshot of {} taken in {:.0} ms",
            self.name,
            took.as_secs_f64() * 1000.0
        );
    }

    fn compiled(&self, wasm: &Path, took: Duration, artifact: &Path) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
        eprintln!(
            "wasmfn: compiled {} in {:.0} ms (cached at {})",
            wasm.display(),
            took.as_secs_f64() * 1000.0,
            artifact.display()
        );
    }
}
