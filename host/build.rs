//! Links the `wasmfn` binary as a position-dependent executable on Linux.
//!
//! A position-independent one has ~60,000 relative relocations (vtables,
//! static tables of wasmtime and WASI); the loader applies them at every
//! start, copying each page of `.data.rel.ro` it writes. That is ~0.6 ms
//! of a one-shot `invoke` (1.8 → 1.2 ms for `--version`) and of every
//! Lambda cold start. Guest code and memory, and everything the host
//! allocates, are still placed at random by `mmap`; only the binary's own
//! image is at a fixed address.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
