//! Taking a snapshot of an instance after its `init`: its linear memories
//! and globals, written by wasmtime-wizer into a component whose data
//! segments are that state, so that every instance made from it starts
//! where this one's `init` left off.
//!
//! What lives outside linear memory is not in the snapshot: the host's
//! resources (open files, streams, key-value buckets, HTTP requests). A
//! guest still holding one when `init` returns would hold a dangling handle
//! in every restored instance, so such a snapshot is refused.

use std::time::Duration;

use wasmtime_wizer::{ComponentContext, WasmtimeWizerComponent, Wizer};

use super::Instance;

/// Why an instance could not be snapshotted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// `init` returned with host resources still open.
    #[error(
        "init returned holding {} open host resource(s) ({} file(s) or directories, {} \
         stream(s), {} other: key-value buckets, HTTP requests, pollables); their handles would \
         dangle in every restored instance. Close them before init returns (drop the file or \
         client, or do that work in the handler or an after-restore hook). A guest on \
         wasi-libc must also give back libc's own: its stdio streams and preopened \
         directories (the Rust SDK does). In a Python function that means no file access \
         through open() or os at init, since CPython's libc keeps what it opened: the \
         engine's imports and print hold nothing",
        .0[0] + .0[1] + .0[2], .0[0], .0[1], .0[2]
    )]
    OpenHandles([usize; 3]),
    /// Reading the instance's state failed.
    #[error("reading the instance's state: {0}")]
    Read(String),
}

impl Instance {
    /// Copies what the guest left in its `/tmp` into `to`; false, with
    /// nothing copied, when it left nothing there.
    pub fn copy_tmp(&mut self, to: &std::path::Path) -> std::io::Result<bool> {
        let Some(tmp) = self.store.data_mut().files.tmp_mut() else {
            return Ok(false);
        };
        if std::fs::read_dir(tmp.path())?.next().is_none() {
            return Ok(false);
        }
        crate::capability::files::copy_tree(tmp.path(), to)?;
        Ok(true)
    }

    /// Writes this instance's state into a copy of the component that
    /// `cx` was instrumented from. The instance must have been made from
    /// that instrumentation.
    pub async fn snapshot(
        mut self,
        wizer: &Wizer,
        cx: &ComponentContext<'_>,
    ) -> Result<Vec<u8>, SnapshotError> {
        let open = self.store.data_mut().open_handles();
        if open.iter().any(|&n| n > 0) {
            return Err(SnapshotError::OpenHandles(open));
        }
        // The state is read through the instrumentation's exports, which
        // are guest calls: give them a deadline of their own.
        self.begin_call(std::time::Instant::now(), Duration::from_secs(60));
        let mut state = WasmtimeWizerComponent {
            store: &mut self.store,
            instance: self.component,
        };
        wizer
            .snapshot_component(cx, &mut state)
            .await
            .map_err(|e| SnapshotError::Read(format!("{e:#}")))
    }
}
