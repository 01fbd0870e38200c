//! Open files: Lambda's limit per execution environment, and a reserve of
//! the host's own descriptors that no guest can take.
//!
//! Every file or directory a guest opens (`wasi:filesystem`'s `open-at`) is
//! a descriptor of the host process, and a warm instance may keep what it
//! opened from one invocation to the next, as on Lambda. Unchecked, one
//! guest holding files open could take every descriptor the process may
//! have, and the host could then accept no connection, open no artifact and
//! make no other instance's `/tmp`. So `open-at` is wrapped, and an open is
//! refused when
//!
//! * the instance already holds [`MAX_OPEN_PER_INSTANCE`] files open
//!   (Lambda's 1,024), or
//! * it would leave the process less than a quarter of its descriptor limit
//!   (`RLIMIT_NOFILE`) for itself; the host logs a warning then.
//!
//! [`raise_limit`] first lifts the process's soft limit to its hard one.
//! The guest sees the open fail with `quota` (WASI has no "too many open
//! files"); nothing traps, and a file closed makes room again.

use std::collections::HashSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtxView};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};

/// Files one instance may hold open at once: Lambda's limit of file
/// descriptors per execution environment.
pub const MAX_OPEN_PER_INSTANCE: usize = 1024;

/// The files an instance opened and may still hold, by resource handle.
#[derive(Debug, Default)]
pub struct OpenFiles {
    handles: HashSet<u32>,
}

impl OpenFiles {
    /// Whether the instance may open another file. The closed ones are
    /// forgotten only when the count reaches the limit (a closed handle is
    /// gone from the table, or its slot holds something else since), so
    /// that an open normally costs no scan.
    fn has_room(&mut self, table: &ResourceTable) -> bool {
        if self.handles.len() >= MAX_OPEN_PER_INSTANCE {
            self.handles
                .retain(|&rep| table.get(&Resource::<Descriptor>::new_borrow(rep)).is_ok());
        }
        self.handles.len() < MAX_OPEN_PER_INSTANCE
    }
}

/// Whether the process may hand a guest another descriptor and keep a
/// quarter of its limit. The kernel gives out the lowest free number, so
/// that number is at least how many descriptors are open below it: one
/// `F_DUPFD` (and its close) tells, without counting.
fn host_has_room() -> bool {
    static PROBE: OnceLock<Option<(OwnedFd, i32)>> = OnceLock::new();
    let Some((probe, budget)) = PROBE.get_or_init(|| {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
        let budget = i32::try_from(limit - limit / 4).unwrap_or(i32::MAX);
        let probe = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()?;
        Some((probe, budget))
    }) else {
        // No limit (or no way to look): nothing to keep.
        return true;
    };
    match rustix::io::fcntl_dupfd_cloexec(probe, 0) {
        Ok(lowest_free) => lowest_free.as_raw_fd() < *budget,
        Err(_) => false,
    }
}

/// Raises the process's soft descriptor limit to its hard limit, once: a
/// host of many warm instances, each with its own files open, needs more
/// than the customary soft default of 1,024, and the hard limit is what
/// the system allows it.
pub fn raise_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut limit = getrlimit(Resource::Nofile);
        if let (Some(soft), Some(hard)) = (limit.current, limit.maximum) {
            if soft < hard {
                limit.current = Some(hard);
                let _ = setrlimit(Resource::Nofile, limit);
            }
        }
    });
}

/// What the checked `open-at` works on: the files the instance holds open,
/// and its filesystem context (whose table tells which it closed).
pub struct OpenFilesView<'a> {
    /// The files it holds open.
    pub open: &'a mut OpenFiles,
    /// Its WASI filesystem and resource table.
    pub filesystem: WasiFilesystemCtxView<'a>,
}

/// Replaces `wasi:filesystem/types`' `open-at` in `linker` (which must
/// allow shadowing) with one that checks both limits first; `view` picks
/// what it works on out of the instance's state.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> OpenFilesView<'_>,
) -> wasmtime::Result<()> {
    let mut types = linker.instance("wasi:filesystem/types@0.2.12")?;
    types.func_wrap_async(
        "[method]descriptor.open-at",
        move |mut store,
              (dir, path_flags, path, open_flags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                let OpenFilesView {
                    open,
                    mut filesystem,
                } = view(store.data_mut());
                if !open.has_room(filesystem.table) {
                    return Ok((Err(ErrorCode::Quota),));
                }
                if !host_has_room() {
                    tracing::warn!(
                        "the host is short of file descriptors; refused a guest's open \
                         (raise `ulimit -n`, or run fewer instances)"
                    );
                    return Ok((Err(ErrorCode::Quota),));
                }
                let opened = HostDescriptor::open_at(
                    &mut filesystem,
                    dir,
                    path_flags,
                    path,
                    open_flags,
                    flags,
                )
                .await;
                match opened {
                    Ok(file) => {
                        open.handles.insert(file.rep());
                        Ok((Ok(file),))
                    }
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            })
        },
    )
}
