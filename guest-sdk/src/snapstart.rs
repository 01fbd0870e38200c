//! SnapStart's runtime hooks, as Lambda's runtimes have them (CRaC's
//! `beforeCheckpoint` / `afterRestore`, Python's `@register_before_snapshot`
//! / `@register_after_restore`).
//!
//! With `snapStart: true` the host runs the function's `init` once and
//! snapshots the instance; every instance after that starts from the
//! snapshot. Register the hooks in `init`:
//!
//! ```
//! fn setup() -> Result<(), wasmfn_guest::Error> {
//!     wasmfn_guest::snapstart::register_before_snapshot(|| {
//!         // e.g. drop a connection pool that cannot survive the snapshot
//!         Ok(())
//!     });
//!     wasmfn_guest::snapstart::register_after_restore(|| {
//!         // e.g. re-seed what must differ between instances
//!         Ok(())
//!     });
//!     Ok(())
//! }
//! ```
//!
//! Before-snapshot hooks run at the end of `init`, in registration order;
//! after-restore hooks run in each restored instance before its first
//! event, in the order they were registered. An error from either fails
//! what it ran in: the snapshot, or that first invocation.
//!
//! Host resources cannot be in a snapshot, so before it is taken the SDK
//! also gives back the handles wasi-libc keeps for itself (stdio streams,
//! preopened directories); libc opens them again when next used. A file,
//! stream or client of the function's own must be closed by the function,
//! e.g. in a before-snapshot hook; the host refuses a snapshot that would
//! hold one.

// Natively (unit tests) nothing runs the hooks: only the wasm exports do.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::sync::Mutex;

use crate::Error;

/// A hook: runs once, may fail.
pub type Hook = fn() -> Result<(), Error>;

static BEFORE_SNAPSHOT: Mutex<Vec<Hook>> = Mutex::new(Vec::new());
static AFTER_RESTORE: Mutex<Vec<Hook>> = Mutex::new(Vec::new());
/// Set in the snapshot, so that the restored instances find it set.
static RESTORE_PENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `hook` at the end of `init`, just before the snapshot is taken.
pub fn register_before_snapshot(hook: Hook) {
    lock(&BEFORE_SNAPSHOT).push(hook);
}

/// Runs `hook` in every instance restored from the snapshot, before its
/// first event.
pub fn register_after_restore(hook: Hook) {
    lock(&AFTER_RESTORE).push(hook);
}

/// Whether this `init` is the one a snapshot is taken of: Lambda's
/// `AWS_LAMBDA_INITIALIZATION_TYPE` is `snap-start`.
pub fn is_snapshotting() -> bool {
    std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref() == Ok("snap-start")
}

fn lock(hooks: &Mutex<Vec<Hook>>) -> std::sync::MutexGuard<'_, Vec<Hook>> {
    hooks.lock().unwrap_or_else(|p| p.into_inner())
}

fn run(hooks: &Mutex<Vec<Hook>>) -> Result<(), Error> {
    let hooks = lock(hooks).clone();
    hooks.iter().try_for_each(|hook| hook())
}

/// The end of `init` when it is being snapshotted: the hooks, then libc's
/// own handles given back.
pub(crate) fn before_snapshot() -> Result<(), Error> {
    run(&BEFORE_SNAPSHOT)?;
    RESTORE_PENDING.store(true, std::sync::atomic::Ordering::Relaxed);
    release_libc_handles();
    Ok(())
}

/// The start of the first event in a restored instance.
pub(crate) fn after_restore() -> Result<(), Error> {
    if RESTORE_PENDING.swap(false, std::sync::atomic::Ordering::Relaxed) {
        run(&AFTER_RESTORE)?;
    }
    Ok(())
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn release_libc_handles() {
    use std::io::Write as _;
    unsafe extern "C" {
        fn close(fd: i32) -> i32;
        fn __wasilibc_init_stdio() -> i32;
        fn __wasilibc_reset_preopens();
    }
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: one thread; nothing holds these descriptors across the call.
    // Closing 0-2 drops the streams libc fetched for them; init_stdio puts
    // fresh entries back (stdin, stdout, stderr, in that order), which fetch
    // their streams on first use. libc reuses the last freed descriptor
    // first, so they are closed from 2 down to land back on 0, 1, 2.
    // reset_preopens closes the preopened directories and marks them to be
    // found again on the next path lookup.
    unsafe {
        close(2);
        close(1);
        close(0);
        __wasilibc_init_stdio();
        __wasilibc_reset_preopens();
    }
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn release_libc_handles() {}
