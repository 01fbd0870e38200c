//! What a guest sees of a filesystem: its instance's private `/tmp` and
//! the function's layers, read-only, at `/opt`. Nothing else of the host's
//! filesystem is preopened, so nothing else is reachable (WASI has no
//! ambient paths; `..` cannot leave a preopen).
//!
//! * **`/tmp`**, as on Lambda: writable, private to one instance, kept while
//!   the instance stays warm (a cache written by one invocation is there for
//!   the next) and removed with the instance. Its size is capped
//!   (`ephemeralStorageSize`, 512 MB by default; `0` gives the function no
//!   `/tmp` at all). It is counted as a file system of that size would
//!   count it (see [`crate::capability::files::tree`]): files by whole 4 KiB blocks, a block
//!   per directory or link, and at most one file or directory per 16 KiB,
//!   so that empty files cannot exhaust the host's inodes. The usage is
//!   measured at most every [`CHECK_INTERVAL`] per instance (and less often
//!   for a tree so big that measuring it takes over a tenth of that), so
//!   that a warm call does not pay for a directory walk: during a call (on
//!   the engine's epoch ticks), where passing the cap stops the call with
//!   `Runtime.EphemeralStorageExceeded`, and after it. An instance found
//!   over its cap is retired, which deletes its `/tmp`.
//!
//!   Directory operations are slow on a journaling filesystem (here mkdir
//!   ~25 µs, rmdir ~50 µs, against ~6 µs for a whole pooled instantiation),
//!   so they stay off the request path: each function keeps a few empty
//!   directories ready, and a janitor thread empties and recycles the `/tmp`
//!   of every retired instance. Even opening a ready directory (~2.7 µs)
//!   waits until the guest first asks for its preopened directories
//!   (`wasi:filesystem/preopens`, which wasi-libc calls on the first path
//!   it resolves): an instance that never touches a file never opens its
//!   `/tmp`, and instantiation does no filesystem work at all.
//! * **`/opt`**: the manifest's `layers`, directories merged in order (a
//!   later layer's file wins, as Lambda extracts layers in order), mounted
//!   read-only. It is opened once per function and shared by its instances.
//! * **`/var/task`**, when the function has a code directory apart from its
//!   component (a JavaScript function's bundle): read-only, opened once per
//!   function, like `/opt`.
//!
//! May import: nothing of the crate above `capability`.

pub mod descriptors;
pub mod tree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, Dir};
use wasmtime_wasi::p2::bindings::filesystem::preopens;
use wasmtime_wasi::{FsPerms, OpenMode};

use self::tree::Usage;

/// Lambda's default ephemeral storage, in MB.
pub const DEFAULT_TMP_MB: u32 = 512;

/// How often an instance's `/tmp` usage is measured, at most.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Empty directories a server keeps ready per function.
pub const READY: usize = 8;

/// A function's ready, empty `/tmp` directories, and how to make more.
#[derive(Debug)]
struct Ready {
    /// The function's directory, made on first use: a function whose
    /// instances never open a file (or a one-shot process that runs one
    /// instance) makes none.
    root: OnceLock<PathBuf>,
    /// Held while the root is made, so that it is made once.
    making_root: Mutex<()>,
    /// What the root's name starts with.
    prefix: String,
    /// How many empty directories to keep ready: none makes each one when
    /// its instance first asks, on the instance's thread.
    keep: usize,
    next: AtomicU64,
    dirs: Mutex<Vec<PathBuf>>,
    /// A refill is queued: one is enough.
    refilling: AtomicBool,
}

impl Ready {
    /// The function's root, made now if it is not yet.
    fn root(&self) -> std::io::Result<&Path> {
        if let Some(root) = self.root.get() {
            return Ok(root);
        }
        let _one = self.making_root.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(root) = self.root.get() {
            return Ok(root);
        }
        let dir = tempfile::Builder::new()
            .prefix(&self.prefix)
            .tempdir()?
            .keep();
        // A process that makes roots sweeps those that dead ones left.
        let _ = janitor();
        Ok(self.root.get_or_init(|| dir))
    }

    fn make(&self) -> std::io::Result<PathBuf> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.root()?.join(format!("tmp-{n}"));
        std::fs::create_dir(&path)?;
        Ok(path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Janitor side: `dir` is no longer used; empty it and keep it ready,
    /// or remove it when enough are ready.
    fn recycle(&self, dir: PathBuf) {
        let empty = std::fs::read_dir(&dir).is_ok_and(|mut e| e.next().is_none());
        // Keep up to twice the target, so that a steady churn of instances
        // recycles directories instead of creating and removing them.
        if self.lock().len() >= 2 * self.keep {
            let _ = tree::remove(&dir);
            return;
        }
        if !empty {
            // Its contents belonged to another instance: start from nothing.
            tree::clear(&dir);
            if std::fs::read_dir(&dir).map_or(true, |mut e| e.next().is_some()) {
                // Something could not be removed: do not hand it out.
                let _ = tree::remove(&dir);
                return;
            }
        }
        self.lock().push(dir);
    }

    /// Janitor side: top the ready list up.
    fn refill(&self) {
        self.refilling.store(false, Ordering::Release);
        while self.lock().len() < self.keep {
            match self.make() {
                Ok(dir) => self.lock().push(dir),
                Err(_) => return,
            }
        }
    }
}

/// Work for the janitor thread.
enum Chore {
    Recycle(Arc<Ready>, PathBuf),
    Refill(Arc<Ready>),
    /// A function's root, to be removed with everything in it.
    Discard(PathBuf),
}

/// The janitor: one thread per process doing the slow directory work.
fn janitor() -> Sender<Chore> {
    static JANITOR: OnceLock<Mutex<Sender<Chore>>> = OnceLock::new();
    JANITOR
        .get_or_init(|| {
            let (tx, rx) = channel::<Chore>();
            std::thread::Builder::new()
                .name("wasmfn-tmp-janitor".into())
                .spawn(move || {
                    for chore in rx {
                        match chore {
                            Chore::Recycle(ready, dir) => ready.recycle(dir),
                            Chore::Refill(ready) => ready.refill(),
                            Chore::Discard(root) => {
                                let _ = tree::remove(&root);
                            }
                        }
                    }
                })
                .expect("spawning the /tmp janitor thread");
            // A process that exits (or is killed) with functions loaded
            // leaves their roots behind; the next one cleans up, on a thread
            // of its own so that removing big trees never delays the
            // janitor's chores for this process's instances.
            let _ = std::thread::Builder::new()
                .name("wasmfn-tmp-sweep".into())
                .spawn(|| sweep_stale_roots(&std::env::temp_dir()));
            Mutex::new(tx)
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// How a function's root is named in the system's temporary directory:
/// this prefix, the process id, `-`, the function's name, `-` and a random
/// suffix. The process id tells a later process whose roots are stale.
const ROOT_PREFIX: &str = "wasmfn-";

/// Removes, under `dir`, the function roots of processes that no longer
/// run. A root whose process id is taken again by another process is kept
/// until that one is gone too: only ever too few are removed, never one in
/// use.
fn sweep_stale_roots(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(ROOT_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_exists(pid) {
            let _ = tree::remove(&entry.path());
        }
    }
}

/// Whether a process `pid` runs (or cannot be known not to).
fn process_exists(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// A function's directory of instance `/tmp`s and its merged layers.
pub struct FunctionFiles {
    ready: Arc<Ready>,
    /// The directory mounted at `/opt` (if the function has layers),
    /// opened once for every instance.
    opt: Option<Dir>,
    /// The directory mounted at `/var/task`, if any, and its host path.
    task: Option<(Dir, PathBuf)>,
    /// Text files of the code directory the host itself has read for the
    /// guest (the JavaScript bundle), read and checked once: a loaded
    /// function's code does not change (a rebuild loads a new function).
    code: Mutex<HashMap<String, Arc<str>>>,
    tmp_cap_bytes: u64,
    /// What every instance's `/tmp` starts with: for a function restored
    /// from a SnapStart snapshot, what its `init` left in `/tmp`.
    tmp_seed: Option<PathBuf>,
}

impl Drop for FunctionFiles {
    fn drop(&mut self) {
        if let Some(root) = self.ready.root.get() {
            // Removing a tree is slow; whoever drops a function should not
            // wait for it.
            if let Err(e) = janitor().send(Chore::Discard(root.clone())) {
                // No janitor (the process is exiting): clean up here.
                if let Chore::Discard(root) = e.0 {
                    let _ = tree::remove(&root);
                }
            }
        }
    }
}

impl FunctionFiles {
    /// Merges the function's layers and opens its code directory. Its
    /// instances' `/tmp`s are made under a scratch root of its own, with
    /// `keep_ready` empty ones made ahead of need ([`READY`] for a server;
    /// none for a process that runs an instance or two).
    pub fn new(
        function: &str,
        layers: &[PathBuf],
        task_root: Option<&Path>,
        tmp_mb: u32,
        keep_ready: usize,
    ) -> std::io::Result<Self> {
        let ready = Arc::new(Ready {
            root: OnceLock::new(),
            making_root: Mutex::new(()),
            prefix: format!("{ROOT_PREFIX}{}-{function}-", std::process::id()),
            keep: keep_ready,
            next: AtomicU64::new(0),
            dirs: Mutex::new(Vec::new()),
            refilling: AtomicBool::new(false),
        });
        let opt = match layers {
            [] => None,
            // One layer is mounted as it is.
            [one] => Some(open_dir(one, FsPerms::ReadOnly)?),
            many => {
                let merged = ready.root()?.join("opt");
                for layer in many {
                    copy_tree(layer, &merged)?;
                }
                Some(open_dir(&merged, FsPerms::ReadOnly)?)
            }
        };
        let task = task_root
            .map(|dir| Ok::<_, std::io::Error>((open_dir(dir, FsPerms::ReadOnly)?, dir.to_owned())))
            .transpose()?;
        // In the background: a load should not wait for directories, and a
        // first instance that comes before them makes its own.
        if tmp_mb > 0 && keep_ready > 0 {
            ready.refilling.store(true, Ordering::Release);
            let _ = janitor().send(Chore::Refill(ready.clone()));
        }
        Ok(FunctionFiles {
            ready,
            opt,
            task,
            tmp_cap_bytes: u64::from(tmp_mb) << 20,
            tmp_seed: None,
            code: Mutex::default(),
        })
    }

    /// Every instance's `/tmp` starts as a copy of `seed` (copied when the
    /// instance first opens its files), as SnapStart restores the disk of
    /// the snapshotted environment along with its memory.
    pub fn with_tmp_seed(mut self, seed: Option<PathBuf>) -> Self {
        self.tmp_seed = seed;
        self
    }

    /// An empty `/tmp` for one instance: a ready one, or (when a burst
    /// has used them all) a new one.
    pub fn instance_tmp(&self) -> std::io::Result<InstanceTmp> {
        let (ready, left) = {
            let mut dirs = self.ready.lock();
            (dirs.pop(), dirs.len())
        };
        let path = match ready {
            Some(path) => path,
            None => self.ready.make()?,
        };
        if left < self.ready.keep / 2 && !self.ready.refilling.swap(true, Ordering::AcqRel) {
            let _ = janitor().send(Chore::Refill(self.ready.clone()));
        }
        let tmp = InstanceTmp {
            path,
            ready: self.ready.clone(),
            cap_bytes: self.tmp_cap_bytes,
            next_check: Instant::now() + CHECK_INTERVAL,
        };
        if let Some(seed) = &self.tmp_seed {
            copy_tree(seed, &tmp.path)?;
        }
        Ok(tmp)
    }

    /// The directory holding this function's instance `/tmp`s, once made.
    pub fn root(&self) -> Option<&Path> {
        self.ready.root.get().map(PathBuf::as_path)
    }
}

impl std::fmt::Debug for FunctionFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionFiles")
            .field("root", &self.ready.root.get())
            .field("opt", &self.opt.is_some())
            .field("tmp_cap_bytes", &self.tmp_cap_bytes)
            .finish_non_exhaustive()
    }
}

/// Opens a host directory to preopen, as `WasiCtxBuilder::preopened_dir`
/// would.
fn open_dir(path: &Path, perms: FsPerms) -> std::io::Result<Dir> {
    let dir = std::fs::File::open(path)?;
    if !dir.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a directory", path.display()),
        ));
    }
    let mode = match perms {
        FsPerms::ReadOnly => OpenMode::READ,
        FsPerms::ReadWrite => OpenMode::READ | OpenMode::WRITE,
    };
    Ok(Dir::new(dir, perms, mode, false))
}

/// One instance's view of the filesystem: its `/tmp`, taken and opened the
/// first time the guest asks for its directories, and the function's `/opt`.
pub struct InstanceFiles {
    function: Arc<FunctionFiles>,
    tmp: Option<(InstanceTmp, Dir)>,
}

impl InstanceFiles {
    /// Files for a new instance of the function; nothing is opened yet.
    pub fn new(function: Arc<FunctionFiles>) -> Self {
        InstanceFiles {
            function,
            tmp: None,
        }
    }

    /// The text file `name` of the function's code directory (`/var/task`),
    /// read from disk by the function's first instance that asks.
    pub fn read_code(&self, name: &str) -> std::io::Result<Arc<str>> {
        let Some((_, path)) = &self.function.task else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the function has no code directory (/var/task)",
            ));
        };
        let mut code = self.function.code.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(text) = code.get(name) {
            return Ok(text.clone());
        }
        let text: Arc<str> = std::fs::read_to_string(path.join(name))?.into();
        code.insert(name.to_owned(), text.clone());
        Ok(text)
    }

    /// The instance's `/tmp`, once the guest has asked for it.
    pub fn tmp_mut(&mut self) -> Option<&mut InstanceTmp> {
        self.tmp.as_mut().map(|(tmp, _)| tmp)
    }

    /// The directories the guest sees, with their guest paths: `/tmp`
    /// (unless the function's ephemeral storage is 0), `/opt` (if it has
    /// layers) and `/var/task` (if it has a code directory).
    fn preopens(&mut self) -> std::io::Result<Vec<(Dir, &'static str)>> {
        let mut dirs = Vec::with_capacity(3);
        if self.function.tmp_cap_bytes > 0 {
            let (_, dir) = match &mut self.tmp {
                Some(tmp) => tmp,
                none => {
                    let tmp = self.function.instance_tmp()?;
                    let dir = open_dir(tmp.path(), FsPerms::ReadWrite)?;
                    none.insert((tmp, dir))
                }
            };
            dirs.push((dir.clone(), "/tmp"));
        }
        if let Some(opt) = &self.function.opt {
            dirs.push((opt.clone(), "/opt"));
        }
        if let Some((task, _)) = &self.function.task {
            dirs.push((task.clone(), "/var/task"));
        }
        Ok(dirs)
    }
}

/// `wasi:filesystem/preopens` over [`InstanceFiles`]; it replaces
/// wasmtime-wasi's, which would need every directory opened up front.
pub struct Preopens;

impl HasData for Preopens {
    type Data<'a> = PreopensView<'a>;
}

/// What [`Preopens`] works on: an instance's files and resource table.
pub struct PreopensView<'a> {
    pub files: &'a mut InstanceFiles,
    pub table: &'a mut ResourceTable,
}

impl preopens::Host for PreopensView<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let dirs = self.files.preopens().map_err(|e| {
            wasmtime::Error::msg(format!("cannot set up the instance's /tmp or /opt: {e}"))
        })?;
        dirs.into_iter()
            .map(|(dir, path)| Ok((self.table.push(Descriptor::Dir(dir))?, path.to_owned())))
            .collect()
    }
}

/// One instance's `/tmp`; emptied (by the janitor) when dropped.
#[derive(Debug)]
pub struct InstanceTmp {
    path: PathBuf,
    ready: Arc<Ready>,
    cap_bytes: u64,
    /// When its usage may be measured again.
    next_check: Instant,
}

impl InstanceTmp {
    /// The host directory behind `/tmp`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What it may hold: its cap in bytes, and one entry per
    /// [`tree::BYTES_PER_ENTRY`] of it.
    pub fn limit(&self) -> Usage {
        Usage {
            bytes: self.cap_bytes,
            entries: self.cap_bytes / tree::BYTES_PER_ENTRY,
        }
    }

    /// `Some(usage)` if the directory is over its [`limit`](Self::limit).
    /// Measures at most every [`CHECK_INTERVAL`], and no more than a tenth
    /// of the time (a walk that took 20 ms waits 200 ms for the next), so it
    /// can be asked on every epoch tick of a call and after every call; `now`
    /// is the caller's clock reading (both callers have just taken one).
    pub fn over_cap(&mut self, now: Instant) -> Option<TmpFull> {
        if now < self.next_check {
            return None;
        }
        let limit = self.limit();
        let used = tree::usage(&self.path, limit);
        let took = now.elapsed();
        self.next_check = now + took.saturating_mul(10).max(CHECK_INTERVAL);
        used.exceeds(&limit).then_some(TmpFull { used, limit })
    }
}

/// A `/tmp` found over its limit: what it held (counted up to the point it
/// passed the limit) and what it may hold.
#[derive(Debug, Clone, Copy)]
pub struct TmpFull {
    pub used: Usage,
    pub limit: Usage,
}

impl std::fmt::Display for TmpFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cap_mb = self.limit.bytes >> 20;
        if self.used.bytes > self.limit.bytes {
            write!(
                f,
                "/tmp holds {} MB, over the function's ephemeralStorageSize of {cap_mb} MB",
                self.used.bytes.div_ceil(1 << 20),
            )
        } else {
            write!(
                f,
                "/tmp holds over {} files and directories, the most an ephemeralStorageSize of {cap_mb} MB allows (one per {} KiB)",
                self.limit.entries,
                tree::BYTES_PER_ENTRY >> 10,
            )
        }
    }
}

impl std::error::Error for TmpFull {}

impl Drop for InstanceTmp {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        if let Err(e) = janitor().send(Chore::Recycle(self.ready.clone(), path)) {
            // No janitor (the process is exiting): clean up here.
            if let Chore::Recycle(_, path) = e.0 {
                let _ = tree::remove(&path);
            }
        }
    }
}

/// Copies the tree `from` into `to` (merging, overwriting files; links are
/// left out).
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_merge_in_order_and_tmps_are_removed_with_their_instance() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(a.path().join("lib")).unwrap();
        std::fs::write(a.path().join("lib/x"), "from a").unwrap();
        std::fs::write(a.path().join("only-a"), "a").unwrap();
        std::fs::create_dir(b.path().join("lib")).unwrap();
        std::fs::write(b.path().join("lib/x"), "from b").unwrap();
        let files = FunctionFiles::new(
            "f",
            &[a.path().to_owned(), b.path().to_owned()],
            None,
            DEFAULT_TMP_MB,
            READY,
        )
        .unwrap();
        // Two layers are merged into the function's root.
        let opt = files.root().unwrap().join("opt");
        assert_eq!(
            std::fs::read_to_string(opt.join("lib/x")).unwrap(),
            "from b"
        );
        assert_eq!(std::fs::read_to_string(opt.join("only-a")).unwrap(), "a");

        let tmp = files.instance_tmp().unwrap();
        let path = tmp.path().to_owned();
        std::fs::write(path.join("cache"), vec![0u8; 4096]).unwrap();
        assert_eq!(tree::usage(&path, tmp.limit()).bytes, 4096);
        drop(tmp);
        // The janitor empties it (and keeps it ready for another instance).
        let start = Instant::now();
        while path.join("cache").exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!path.join("cache").exists());
        // Every /tmp directory kept ready is empty.
        for entry in std::fs::read_dir(files.root().unwrap()).unwrap().flatten() {
            if entry.file_name() != "opt" {
                assert_eq!(std::fs::read_dir(entry.path()).unwrap().count(), 0);
            }
        }
    }

    #[test]
    fn roots_of_gone_processes_are_swept_and_others_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // Process ids above the kernel's maximum (4194304) are never alive.
        let gone = tmp.path().join(format!("{ROOT_PREFIX}4294967-hello-abc"));
        let mine = tmp
            .path()
            .join(format!("{ROOT_PREFIX}{}-my-fn-abc", std::process::id()));
        let other = tmp.path().join("wasmfn-hello-not-a-pid");
        for dir in [&gone, &mine, &other] {
            std::fs::create_dir_all(dir.join("tmp-0")).unwrap();
        }
        sweep_stale_roots(tmp.path());
        assert!(!gone.exists());
        assert!(mine.exists());
        assert!(other.exists());
    }

    #[test]
    fn an_instance_opens_its_tmp_only_when_asked() {
        let files = Arc::new(FunctionFiles::new("f", &[], None, DEFAULT_TMP_MB, READY).unwrap());
        let mut instance = InstanceFiles::new(files);
        assert!(instance.tmp_mut().is_none());
        let dirs = instance.preopens().unwrap();
        assert_eq!(dirs.iter().map(|(_, p)| *p).collect::<Vec<_>>(), ["/tmp"]);
        let path = instance.tmp_mut().unwrap().path().to_owned();
        // Asked again, it is the same directory.
        instance.preopens().unwrap();
        assert_eq!(instance.tmp_mut().unwrap().path(), path);

        // A /tmp that cannot be made is an error for the guest's call, not
        // a missing directory.
        let broken = Arc::new(FunctionFiles::new("h", &[], None, 1, 0).unwrap());
        drop(broken.instance_tmp().unwrap());
        while broken.root().unwrap().exists() {
            // The janitor may be recycling that /tmp as it goes.
            let _ = std::fs::remove_dir_all(broken.root().unwrap());
        }
        assert!(InstanceFiles::new(broken).preopens().is_err());

        let none = Arc::new(FunctionFiles::new("g", &[], None, 0, READY).unwrap());
        let mut instance = InstanceFiles::new(none);
        assert!(instance.preopens().unwrap().is_empty());
        assert!(instance.tmp_mut().is_none());
    }

    #[test]
    fn a_function_makes_its_root_only_when_an_instance_needs_it() {
        for keep in [0, READY] {
            let files = FunctionFiles::new("lazy", &[], None, 0, keep).unwrap();
            assert!(files.root().is_none(), "no /tmp, no root");
        }
        let files = FunctionFiles::new("lazy", &[], None, DEFAULT_TMP_MB, 0).unwrap();
        assert!(files.root().is_none(), "nothing made ahead of need");
        let tmp = files.instance_tmp().unwrap();
        assert!(tmp.path().is_dir());
        assert_eq!(tmp.path().parent(), files.root());
    }

    #[test]
    fn usage_over_the_cap_is_reported() {
        let files = FunctionFiles::new("f", &[], None, 1, 0).unwrap();
        let mut tmp = files.instance_tmp().unwrap();
        std::fs::write(tmp.path().join("big"), vec![0u8; 2 << 20]).unwrap();
        tmp.next_check = Instant::now();
        let full = tmp.over_cap(Instant::now()).expect("over its cap");
        assert_eq!(full.used.bytes, 2 << 20);
        assert!(full.to_string().contains("/tmp holds 2 MB"), "{full}");
        // Asked again within the interval, it does not measure.
        assert!(tmp.over_cap(Instant::now()).is_none());
    }

    #[test]
    fn empty_files_count_against_the_cap() {
        let files = FunctionFiles::new("f", &[], None, 1, 0).unwrap();
        let mut tmp = files.instance_tmp().unwrap();
        // 1 MB allows 64 entries.
        for i in 0..65 {
            std::fs::write(tmp.path().join(format!("e{i}")), b"").unwrap();
        }
        tmp.next_check = Instant::now();
        let full = tmp.over_cap(Instant::now()).expect("over its entry limit");
        assert_eq!(full.limit.entries, 64);
        assert!(
            full.to_string().contains("over 64 files and directories"),
            "{full}"
        );
    }
}
