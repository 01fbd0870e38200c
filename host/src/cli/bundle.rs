//! What a Lambda deployment package holds and how it is compiled: shared by
//! `wasmfn package`, which writes packages, and `wasmfn lambda`, which runs
//! from one.

/// Where a package keeps its precompiled artifacts, under the task root.
pub const ARTIFACTS_DIR: &str = "artifacts";

/// The triple `wasmfn lambda` compiles for on this machine.
pub fn host_triple() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}
