//! A component file as the cache sees it: its SHA-256 (the artifact's key)
//! and whether it is a snapshot, read from the file once and remembered
//! across processes, so that a later load of an unchanged file maps its
//! artifact without reading or hashing the component again (0.3 ms for a
//! Rust hello, ~10 ms for the 12 MB JavaScript engine).
//!
//! A file is remembered by its device, inode, size, and modification and
//! change times. Writing a file changes its change time, which no tool can
//! set back, so an edited or replaced file is never taken for the one
//! remembered. A file changed within a second of being read is not
//! remembered: two writes in one clock tick could leave the same times.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::LoadError;

/// A component file, its digest known and its bytes read when needed.
pub struct WasmFile {
    path: PathBuf,
    digest: [u8; 32],
    snapshot: bool,
    bytes: Option<Vec<u8>>,
}

impl WasmFile {
    /// Opens the component at `path`, recalling its digest from `memo_dir`
    /// or reading it (and then remembering it there, if it can).
    pub fn open(path: &Path, memo_dir: &Path) -> Result<Self, LoadError> {
        let read_error = |reason| LoadError::Read {
            path: path.to_owned(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(read_error)?;
        let memo = memo_path(memo_dir, path);
        let stamp = stamp(&meta);
        if let Some((digest, snapshot)) = stamp.as_deref().and_then(|s| recall(&memo, s)) {
            return Ok(WasmFile {
                path: path.to_owned(),
                digest,
                snapshot,
                bytes: None,
            });
        }
        let file = Self::with_bytes(path, std::fs::read(path).map_err(read_error)?)?;
        if let Some(stamp) = stamp.filter(|_| settled(&meta)) {
            let line = format!(
                "{stamp} {} {}\n",
                hex(&file.digest),
                u8::from(file.snapshot)
            );
            let _ = write_atomically(&memo, line.as_bytes());
        }
        Ok(file)
    }

    /// The component at `path` whose bytes are `bytes`.
    pub fn with_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, LoadError> {
        check_header(path, &bytes)?;
        Ok(WasmFile {
            path: path.to_owned(),
            digest: Sha256::digest(&bytes).into(),
            snapshot: super::is_snapshot(&bytes),
            bytes: Some(bytes),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SHA-256 of its bytes.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Whether it is a snapshot this host took.
    pub fn is_snapshot(&self) -> bool {
        self.snapshot
    }

    /// Its bytes, read now if they were not. The digest is that of what was
    /// read: a file replaced since it was opened is the new file.
    pub fn bytes(&mut self) -> Result<&[u8], LoadError> {
        if self.bytes.is_none() {
            let bytes = std::fs::read(&self.path).map_err(|reason| LoadError::Read {
                path: self.path.clone(),
                reason,
            })?;
            *self = Self::with_bytes(&self.path, bytes)?;
        }
        Ok(self.bytes.as_deref().unwrap_or_default())
    }
}

/// Where the digest of `path` is remembered under `memo_dir`.
fn memo_path(memo_dir: &Path, path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    memo_dir.join(path_key(&absolute))
}

/// A file name standing for `path` in a directory of memos: the first half
/// of the SHA-256 of its bytes, in hexadecimal.
pub(crate) fn path_key(path: &Path) -> String {
    hex(&Sha256::digest(path.as_os_str().as_encoded_bytes())[..16])
}

/// What identifies the file's current content: device, inode, size, and
/// modification and change times in nanoseconds.
#[cfg(unix)]
fn stamp(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let ns = |secs: i64, nsec: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsec);
    Some(format!(
        "{} {} {} {} {}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        ns(meta.mtime(), meta.mtime_nsec()),
        ns(meta.ctime(), meta.ctime_nsec()),
    ))
}

#[cfg(not(unix))]
fn stamp(_: &std::fs::Metadata) -> Option<String> {
    None
}

/// Whether the file was last changed long enough ago to be remembered.
fn settled(meta: &std::fs::Metadata) -> bool {
    let Ok(modified) = meta.modified() else {
        return false;
    };
    let recent = SystemTime::now()
        .checked_sub(Duration::from_secs(1))
        .unwrap_or(UNIX_EPOCH);
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt as _;
        let secs = u64::try_from(meta.ctime()).unwrap_or(0);
        UNIX_EPOCH + Duration::new(secs, u32::try_from(meta.ctime_nsec()).unwrap_or(0))
    };
    #[cfg(not(unix))]
    let changed = modified;
    modified < recent && changed < recent
}

/// The digest and snapshot flag remembered in `memo` for a file of `stamp`.
fn recall(memo: &Path, stamp: &str) -> Option<([u8; 32], bool)> {
    let line = std::fs::read_to_string(memo).ok()?;
    let rest = line.trim_end().strip_prefix(stamp)?.strip_prefix(' ')?;
    let (digest, snapshot) = rest.split_once(' ')?;
    let mut bytes = [0u8; 32];
    if digest.len() != 64 {
        return None;
    }
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(digest.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let snapshot = match snapshot {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    Some((bytes, snapshot))
}

/// Writes `bytes` to `path` (making its directory) so that a concurrent
/// reader sees either no file or the whole file, never a prefix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Tells apart "not wasm", "a core module" and "a component" from the first
/// eight bytes, so that the common mistakes get their own message.
pub(super) fn check_header(path: &Path, wasm: &[u8]) -> Result<(), LoadError> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(LoadError::NotWasm {
            path: path.to_owned(),
        });
    }
    if wasm[4..8] == [1, 0, 0, 0] {
        return Err(LoadError::CoreModule {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Lower-case hexadecimal, as digests are written in file names.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backdate(path: &Path) {
        std::fs::File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
    }

    #[test]
    fn a_settled_file_is_recalled_and_a_rewritten_one_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let memo = dir.path().join("memo");
        let wasm = dir.path().join("f.wasm");
        std::fs::write(&wasm, b"\0asm\x0d\0\x01\0first").unwrap();
        let memo_made = || std::fs::read_dir(&memo).is_ok_and(|mut d| d.next().is_some());
        // Just written: read, and not remembered.
        let first = WasmFile::open(&wasm, &memo).unwrap();
        assert!(first.bytes.is_some());
        assert!(!memo_made());
        // Settled: read once more, and remembered.
        std::thread::sleep(Duration::from_millis(1100));
        assert!(WasmFile::open(&wasm, &memo).unwrap().bytes.is_some());
        assert!(memo_made());
        let recalled = WasmFile::open(&wasm, &memo).unwrap();
        assert!(recalled.bytes.is_none(), "recalled, not read");
        assert_eq!(recalled.digest(), first.digest());

        // Rewritten with the same size and times set back: the change time
        // differs, so it is read and hashed again.
        std::fs::write(&wasm, b"\0asm\x0d\0\x01\0other").unwrap();
        backdate(&wasm);
        let reread = WasmFile::open(&wasm, &memo).unwrap();
        assert!(reread.bytes.is_some());
        assert_ne!(reread.digest(), first.digest());
    }
}
