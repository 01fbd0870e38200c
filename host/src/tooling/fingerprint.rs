//! Whether a guest crate's component is up to date, known without running
//! cargo (which takes ~50 ms to say that nothing changed).
//!
//! After each successful build the inputs of the component are remembered:
//! every file cargo's dep-info lists for it (the crate's sources, its path
//! dependencies' such as the SDK, the WIT files the bindings read), the
//! manifest of each package those files belong to, every `Cargo.toml`,
//! `Cargo.lock`, toolchain file and cargo config in the crate's directory
//! and above it (absent ones too: creating one counts as a change), the
//! component itself, and the environment variables cargo and rustc read.
//! Each file is remembered by its size and modification time.
//!
//! A wrong "up to date" is worse than a slow one, so:
//! * any difference at all, or a file that cannot be read, means cargo runs;
//! * nothing is remembered if an input was modified after the build started
//!   or within a second before it, since a file written in the same clock
//!   tick as the build could have changed after rustc read it (the
//!   lockfile and the component, which cargo writes itself, excepted);
//! * registry and git dependencies are pinned by `Cargo.lock` (their sources
//!   are never modified in place), so the lockfile stands for them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::engine::wasm_file::{path_key, write_atomically};

/// Files of a directory and its ancestors that change how cargo builds.
const CONFIG_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config",
    ".cargo/config.toml",
];

/// How close before a build's start an input may have been modified and
/// still be trusted to be what the build read.
const SLACK: Duration = Duration::from_secs(1);

/// The remembered inputs of one crate's component.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Inputs {
    wasm: PathBuf,
    env: Vec<(String, String)>,
    files: Vec<Stamp>,
}

/// A file as it was: its size and modification time, or absent.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stamp {
    path: PathBuf,
    seen: Option<(u64, u128)>,
}

impl Stamp {
    fn of(path: &Path) -> Stamp {
        let seen = std::fs::metadata(path).ok().map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            (m.len(), modified)
        });
        Stamp {
            path: path.to_owned(),
            seen,
        }
    }
}

/// Where the inputs of the crate in `dir` are remembered, under `memo_dir`.
fn memo_path(memo_dir: &Path, dir: &Path) -> PathBuf {
    memo_dir.join(format!("{}.json", path_key(dir)))
}

/// The component of the crate in `dir` (a canonical path), if nothing it
/// was built from has changed since it was remembered.
pub fn up_to_date(memo_dir: &Path, dir: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(memo_path(memo_dir, dir)).ok()?;
    let inputs: Inputs = serde_json::from_slice(&bytes).ok()?;
    let unchanged = inputs.env == build_env()
        && inputs
            .files
            .iter()
            .all(|stamp| Stamp::of(&stamp.path) == *stamp);
    unchanged.then_some(inputs.wasm)
}

/// Remembers what the component `wasm` of the crate in `dir` was built
/// from, by a build that started at `started`. Says whether it did: it does
/// not when an input is too recent to be trusted or cargo left no dep-info.
pub fn remember(memo_dir: &Path, dir: &Path, wasm: &Path, started: SystemTime) -> bool {
    let Some(mut files) = dep_info(wasm) else {
        return false;
    };
    let mut manifests: Vec<PathBuf> = files.iter().filter_map(|f| package_manifest(f)).collect();
    manifests.sort();
    manifests.dedup();
    files.extend(manifests);
    for ancestor in dir.ancestors() {
        files.extend(CONFIG_FILES.iter().map(|name| ancestor.join(name)));
    }
    files.push(wasm.to_owned());
    let stamps: Vec<Stamp> = files.iter().map(|f| Stamp::of(f)).collect();
    let trusted_before = started
        .checked_sub(SLACK)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    // The component and the lockfile are written by the build itself.
    let written_by_cargo =
        |path: &Path| path == wasm || path.file_name().is_some_and(|n| n == "Cargo.lock");
    let too_recent = stamps.iter().any(|s| {
        !written_by_cargo(&s.path)
            && s.seen
                .is_some_and(|(_, modified)| modified >= trusted_before)
    });
    if too_recent {
        return false;
    }
    let inputs = Inputs {
        wasm: wasm.to_owned(),
        env: build_env(),
        files: stamps,
    };
    let Ok(bytes) = serde_json::to_vec(&inputs) else {
        return false;
    };
    write_atomically(&memo_path(memo_dir, dir), &bytes).is_ok()
}

/// Forgets what was remembered of the crate in `dir` (a build failed).
pub fn forget(memo_dir: &Path, dir: &Path) {
    let _ = std::fs::remove_file(memo_path(memo_dir, dir));
}

/// The files cargo's dep-info lists for `wasm` (`hello.wasm` → `hello.d`).
fn dep_info(wasm: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(wasm.with_extension("d")).ok()?;
    // `target: dep dep ...`, spaces in paths escaped as `\ `.
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let (_, deps) = line.split_once(": ")?;
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    Some(files)
}

/// The `Cargo.toml` of the package `file` belongs to: the nearest one above.
fn package_manifest(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .map(|dir| dir.join("Cargo.toml"))
        .find(|manifest| manifest.is_file())
}

/// The environment cargo and rustc read that can change what they build.
fn build_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_")
                || k.starts_with("RUSTC")
                || k.starts_with("RUSTUP_")
                || k == "RUSTFLAGS"
        })
        .collect();
    env.sort();
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_paths_with_spaces_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("f.wasm");
        std::fs::write(
            dir.path().join("f.d"),
            "/t/f.wasm: /a/src/lib.rs /my\\ dir/x.rs /wit/h.wit\n\n/a/src/lib.rs:\n",
        )
        .unwrap();
        assert_eq!(
            dep_info(&wasm).unwrap(),
            ["/a/src/lib.rs", "/my dir/x.rs", "/wit/h.wit"].map(PathBuf::from)
        );
    }
}
