//! What a guest sees of a filesystem: its instance's private `/tmp` and
//! the function's layers, read-only, at `/opt`. Nothing else of the host's
//! filesystem is preopened, so nothing else is reachable (WASI has no
//! ambient paths; `..` cannot leave a preopen).
//!
//! * **`/tmp`**, as on Lambda: writable, private to one instance, kept while
//!   the instance stays warm (a cache written by one invocation is there for
//!   the next) and removed with the instance. Its size is capped
//!   (`ephemeralStorageSize`, 512 MB by default). The usage is measured
//!   after invocations, at most every [`CHECK_INTERVAL`] per instance so
//!   that a warm call does not pay for a directory walk; an instance found
//!   over its cap is retired, which deletes its `/tmp`.
//! * **`/opt`**: the manifest's `layers`, directories merged in order (a
//!   later layer's file wins, as Lambda extracts layers in order), mounted
//!   read-only.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lambda's default ephemeral storage, in MB.
pub const DEFAULT_TMP_MB: u32 = 512;

/// How often an instance's `/tmp` usage is measured, at most.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// A function's directory of instance `/tmp`s and its merged layers.
#[derive(Debug)]
pub struct FunctionFiles {
    root: tempfile::TempDir,
    next: AtomicU64,
    opt: Option<PathBuf>,
    tmp_cap_bytes: u64,
}

impl FunctionFiles {
    /// Creates the function's scratch root and merges its layers.
    pub fn new(function: &str, layers: &[PathBuf], tmp_mb: u32) -> std::io::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix(&format!("wasmfn-{function}-"))
            .tempdir()?;
        let opt = match layers {
            [] => None,
            // One layer is mounted as it is.
            [one] => Some(one.clone()),
            many => {
                let merged = root.path().join("opt");
                for layer in many {
                    copy_tree(layer, &merged)?;
                }
                Some(merged)
            }
        };
        Ok(FunctionFiles {
            root,
            next: AtomicU64::new(0),
            opt,
            tmp_cap_bytes: u64::from(tmp_mb) << 20,
        })
    }

    /// The directory mounted at `/opt`, if the function has layers.
    pub fn opt(&self) -> Option<&Path> {
        self.opt.as_deref()
    }

    /// A new, empty `/tmp` for one instance.
    pub fn instance_tmp(&self) -> std::io::Result<InstanceTmp> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.root.path().join(format!("tmp-{n}"));
        std::fs::create_dir(&path)?;
        Ok(InstanceTmp {
            path,
            cap_bytes: self.tmp_cap_bytes,
            last_check: Instant::now(),
        })
    }
}

/// One instance's `/tmp`, removed when dropped.
#[derive(Debug)]
pub struct InstanceTmp {
    path: PathBuf,
    cap_bytes: u64,
    last_check: Instant,
}

impl InstanceTmp {
    /// The host directory behind `/tmp`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// After an invocation: `Some(bytes used)` if the directory is over its
    /// cap. Measures at most every [`CHECK_INTERVAL`].
    pub fn over_cap(&mut self) -> Option<u64> {
        if self.last_check.elapsed() < CHECK_INTERVAL {
            return None;
        }
        self.last_check = Instant::now();
        let used = usage(&self.path);
        (used > self.cap_bytes).then_some(used)
    }
}

impl Drop for InstanceTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Bytes of the files under `dir` (not following symlinks).
pub fn usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => usage(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Copies the tree `from` into `to` (merging, overwriting files).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
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
            DEFAULT_TMP_MB,
        )
        .unwrap();
        let opt = files.opt().unwrap();
        assert_eq!(
            std::fs::read_to_string(opt.join("lib/x")).unwrap(),
            "from b"
        );
        assert_eq!(std::fs::read_to_string(opt.join("only-a")).unwrap(), "a");

        let tmp = files.instance_tmp().unwrap();
        let path = tmp.path().to_owned();
        std::fs::write(path.join("cache"), vec![0u8; 4096]).unwrap();
        assert_eq!(usage(&path), 4096);
        drop(tmp);
        assert!(!path.exists());
    }

    #[test]
    fn usage_over_the_cap_is_reported() {
        let files = FunctionFiles::new("f", &[], 1).unwrap();
        let mut tmp = files.instance_tmp().unwrap();
        std::fs::write(tmp.path().join("big"), vec![0u8; 2 << 20]).unwrap();
        tmp.last_check -= CHECK_INTERVAL;
        assert_eq!(tmp.over_cap(), Some(2 << 20));
    }
}
