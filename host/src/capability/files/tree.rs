//! Measuring and removing a directory tree that a guest shaped: an
//! instance's `/tmp`.
//!
//! A guest may nest directories thousands deep (WASI opens each level from
//! the one above, so no path limit stops it). Walking such a tree by path,
//! as `std::fs::read_dir` on joined paths does, costs a lookup per level for
//! every entry and fails past `PATH_MAX`, so whatever lies deeper goes
//! uncounted; removing it with `std::fs::remove_dir_all`, which recurses on
//! Linux, takes a stack frame and a descriptor per level. Here each
//! directory is opened relative to its parent, the way back up is `..`, and
//! the names still to visit wait on the heap: the work is linear in the
//! entries, and the host's stack and descriptor table stay flat whatever the
//! depth. Nothing is followed: a symlink is an entry like a file.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{openat, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags};

/// What a file system block holds: every entry takes at least one, and a
/// file takes its length rounded up to whole blocks.
pub const BLOCK_BYTES: u64 = 4096;

/// Bytes of storage per entry (inode) allowed: ext4's default inode ratio,
/// so a `/tmp` of N MB holds as many files and directories as an ext4 file
/// system of that size would.
pub const BYTES_PER_ENTRY: u64 = 16 << 10;

/// What a tree takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Its files' lengths, rounded up to blocks, and a block per directory
    /// or other entry.
    pub bytes: u64,
    /// Its files, directories and other entries.
    pub entries: u64,
}

impl Usage {
    /// Whether either measure passes `limit`'s.
    pub fn exceeds(&self, limit: &Usage) -> bool {
        self.bytes > limit.bytes || self.entries > limit.entries
    }

    fn add(&mut self, kind: FileType, len: u64) {
        self.entries += 1;
        self.bytes += match kind {
            FileType::RegularFile => len.div_ceil(BLOCK_BYTES).max(1) * BLOCK_BYTES,
            _ => BLOCK_BYTES,
        };
    }
}

/// A directory being walked: its name in its parent, and the
/// subdirectories in it not yet visited.
struct Level {
    name: CString,
    pending: Vec<CString>,
}

fn open_dir(at: &OwnedFd, name: &std::ffi::CStr) -> rustix::io::Result<OwnedFd> {
    openat(
        at,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The entries of `dir` (not `.` and `..`), with their types as far as
/// `readdir` knows them.
fn entries(dir: &OwnedFd) -> Vec<(CString, FileType)> {
    let Ok(mut listing) = Dir::read_from(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(Ok(entry)) = listing.read() {
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        out.push((name.to_owned(), entry.file_type()));
    }
    out
}

/// Walks the tree under `root` depth first, one open directory at a time.
/// `visit` sees each directory's entries (with the directory open) and
/// returns the subdirectories to descend into, or `None` to stop the walk;
/// `leave` is called with the parent open after a subdirectory is done.
fn walk(
    root: &Path,
    mut visit: impl FnMut(&OwnedFd, Vec<(CString, FileType)>) -> Option<Vec<CString>>,
    mut leave: impl FnMut(&OwnedFd, &std::ffi::CStr),
) {
    let Ok(mut dir) = openat(
        rustix::fs::CWD,
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let Some(pending) = visit(&dir, entries(&dir)) else {
        return;
    };
    let mut stack = vec![Level {
        name: CString::default(),
        pending,
    }];
    while let Some(level) = stack.last_mut() {
        if let Some(name) = level.pending.pop() {
            // Gone or replaced since it was listed: skip it.
            let Ok(child) = open_dir(&dir, &name) else {
                continue;
            };
            dir = child;
            let Some(pending) = visit(&dir, entries(&dir)) else {
                return;
            };
            stack.push(Level { name, pending });
            continue;
        }
        let done = stack.pop().expect("the level just looked at");
        if stack.is_empty() {
            return;
        }
        // Up to the parent. `..` of a directory this walk opened without
        // following links is its real parent.
        let Ok(parent) = open_dir(&dir, c"..") else {
            return;
        };
        dir = parent;
        leave(&dir, &done.name);
    }
}

/// What the tree under `root` takes, measured until it passes `limit`
/// (then the count so far, already over it, is returned: the caller needs
/// to know no more).
pub fn usage(root: &Path, limit: Usage) -> Usage {
    let mut used = Usage::default();
    walk(
        root,
        |dir, entries| {
            let mut subdirs = Vec::new();
            for (name, mut kind) in entries {
                let mut len = 0;
                if kind != FileType::Directory {
                    // `readdir` may not know the type; `stat` always does.
                    match statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(stat) => {
                            kind = FileType::from_raw_mode(stat.st_mode);
                            len = u64::try_from(stat.st_size).unwrap_or(0);
                        }
                        Err(_) => continue,
                    }
                }
                used.add(kind, len);
                if kind == FileType::Directory {
                    subdirs.push(name);
                }
            }
            (!used.exceeds(&limit)).then_some(subdirs)
        },
        |_, _| {},
    );
    used
}

/// Removes everything under `root`, keeping `root` itself. What cannot be
/// removed (a name that changed meanwhile) is left, not retried.
pub fn clear(root: &Path) {
    walk(
        root,
        |dir, entries| {
            let mut subdirs = Vec::new();
            for (name, kind) in entries {
                if kind == FileType::Directory {
                    subdirs.push(name);
                } else if unlinkat(dir, name.as_c_str(), AtFlags::empty()).is_err() {
                    // An unknown type that is a directory after all.
                    subdirs.push(name);
                }
            }
            Some(subdirs)
        },
        |parent, name| {
            let _ = unlinkat(parent, name, AtFlags::REMOVEDIR);
        },
    );
}

/// Removes `root` and everything under it.
pub fn remove(root: &Path) -> std::io::Result<()> {
    clear(root);
    std::fs::remove_dir(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: Usage = Usage {
        bytes: u64::MAX,
        entries: u64::MAX,
    };

    /// `depth` directories, one in the other, each opened from the last, as
    /// a guest makes them: no path is ever longer than one name.
    fn nest(root: &Path, depth: usize) {
        let mut dir = openat(
            rustix::fs::CWD,
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        for _ in 0..depth {
            rustix::fs::mkdirat(&dir, c"d", Mode::from_raw_mode(0o755)).unwrap();
            dir = open_dir(&dir, c"d").unwrap();
        }
        let file = openat(
            &dir,
            c"deepest",
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        rustix::io::write(&file, &[7u8; 5000]).unwrap();
    }

    #[test]
    fn files_take_whole_blocks_and_every_entry_counts() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a"), vec![1u8; 4097]).unwrap();
        std::fs::write(root.path().join("empty"), b"").unwrap();
        std::fs::create_dir_all(root.path().join("x/y")).unwrap();
        std::fs::write(root.path().join("x/y/b"), b"hi").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("x/link")).unwrap();
        let used = usage(root.path(), NO_LIMIT);
        // a: 2 blocks; empty, x, y, b, link: one each.
        assert_eq!(used.entries, 6);
        assert_eq!(used.bytes, 7 * BLOCK_BYTES);
    }

    #[test]
    fn a_tree_deeper_than_path_max_is_measured_and_removed() {
        let root = tempfile::tempdir().unwrap();
        // "/d" per level: 20,000 levels make paths ten times PATH_MAX, and
        // far more levels than a recursive walk's stack would survive.
        nest(root.path(), 20_000);
        let used = usage(root.path(), NO_LIMIT);
        assert_eq!(used.entries, 20_001);
        assert_eq!(used.bytes, 20_000 * BLOCK_BYTES + 2 * BLOCK_BYTES);
        clear(root.path());
        assert!(root.path().exists(), "the root stays");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_walk_stops_once_over_the_limit() {
        let root = tempfile::tempdir().unwrap();
        for i in 0..100 {
            std::fs::create_dir(root.path().join(format!("d{i}"))).unwrap();
            for j in 0..10 {
                std::fs::write(root.path().join(format!("d{i}/f{j}")), b"x").unwrap();
            }
        }
        let limit = Usage {
            bytes: u64::MAX,
            entries: 50,
        };
        let used = usage(root.path(), limit);
        assert!(used.exceeds(&limit));
        assert!(used.entries < 200, "stopped early: {used:?}");
        assert_eq!(usage(root.path(), NO_LIMIT).entries, 1100);
    }

    #[test]
    fn removal_does_not_follow_links_out_of_the_tree() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), b"mine").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("sub/out")).unwrap();
        remove(root.path()).unwrap();
        assert!(!root.path().exists());
        assert_eq!(std::fs::read(outside.path().join("keep")).unwrap(), b"mine");
    }
}
