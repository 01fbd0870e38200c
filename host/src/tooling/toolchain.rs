//! What the language toolchains (`js_build`, `py_build`) share: their files
//! written into a directory named by their hash, and directories published
//! whole by a rename, so that a reader never sees a half-made one.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The WIT both engines' worlds are made of, at its place in a toolchain:
/// the handler world and the parts of WASI the engines call themselves
/// (the environment, stdout and stderr, the preopened directories).
pub const ENGINE_WIT: &[(&str, &str)] = &[
    (
        "wit/deps/handler/handler.wit",
        include_str!("../../../wit/handler.wit"),
    ),
    (
        "wit/deps/cli/environment.wit",
        include_str!("../../../wit/deps/cli/environment.wit"),
    ),
    (
        "wit/deps/filesystem/filesystem.wit",
        include_str!("../../../wit/deps/filesystem/filesystem.wit"),
    ),
    (
        "wit/deps/io/io.wit",
        include_str!("../../../wit/deps/io/io.wit"),
    ),
    (
        "wit/deps/clocks/clocks.wit",
        include_str!("../../../wit/deps/clocks/clocks.wit"),
    ),
];

/// The vendored wasi:keyvalue WIT that both engines' worlds import, at its
/// place in a toolchain.
pub const KEYVALUE_WIT: &[(&str, &str)] = &[
    (
        "wit/deps/keyvalue/store.wit",
        include_str!("../../../wit/deps/keyvalue/store.wit"),
    ),
    (
        "wit/deps/keyvalue/atomic.wit",
        include_str!("../../../wit/deps/keyvalue/atomic.wit"),
    ),
    (
        "wit/deps/keyvalue/batch.wit",
        include_str!("../../../wit/deps/keyvalue/batch.wit"),
    ),
    (
        "wit/deps/keyvalue/watch.wit",
        include_str!("../../../wit/deps/keyvalue/watch.wit"),
    ),
    (
        "wit/deps/keyvalue/world.wit",
        include_str!("../../../wit/deps/keyvalue/world.wit"),
    ),
];

/// The hash of a toolchain's files (in parts): a change to any of them
/// makes a new toolchain directory, and so a new engine.
pub fn hash(parts: &[&[(&str, &str)]]) -> String {
    let mut hash = Sha256::new();
    for (path, text) in parts.iter().copied().flatten() {
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize())
}

/// Writes `parts`' files (`(path inside dir, contents)`) under `dir`.
pub fn write(dir: &Path, parts: &[&[(&str, &str)]]) -> std::io::Result<()> {
    for (path, text) in parts.iter().copied().flatten() {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, text)?;
    }
    Ok(())
}

/// Renames the finished `staging` directory to `dir`; if another build
/// finished it first (it has its `.installed` mark), keeps that one.
pub fn publish(staging: &Path, dir: &Path) -> std::io::Result<()> {
    match std::fs::rename(staging, dir) {
        Ok(()) => Ok(()),
        Err(_) if dir.join(".installed").is_file() => {
            let _ = std::fs::remove_dir_all(staging);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
