//! Builds Node.js-style Lambda handlers (`handler: file.export` with a
//! `nodejs*` runtime) into components, with the pinned toolchain of `js/`:
//! esbuild bundles the user's file with the runtime shim, componentize-js
//! (StarlingMonkey) makes the component.
//!
//! The toolchain's files are part of this binary. On first use they are
//! written to `<cache>/js/toolchain-<hash>/` and its npm packages are
//! installed there with `npm ci` from the lockfile; every later build runs
//! offline. A built component is kept with the list of the user's files
//! that went into it and a hash of their contents, so that a later build
//! that finds them unchanged costs no `node` at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::manifest::NodeHandler;

/// The toolchain's files, as `(path inside the toolchain, contents)`.
const TOOLCHAIN: &[(&str, &str)] = &[
    ("package.json", include_str!("../../../js/package.json")),
    (
        "package-lock.json",
        include_str!("../../../js/package-lock.json"),
    ),
    ("shim.js", include_str!("../../../js/shim.js")),
    ("early.js", include_str!("../../../js/early.js")),
    ("build.mjs", include_str!("../../../js/build.mjs")),
    (
        "wit/js-handler.wit",
        include_str!("../../../js/wit/js-handler.wit"),
    ),
    (
        "wit/deps/cli/environment.wit",
        include_str!("../../../js/wit/deps/cli/environment.wit"),
    ),
    (
        "wit/deps/handler/handler.wit",
        include_str!("../../../wit/handler.wit"),
    ),
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

/// Why a JavaScript handler could not be built.
#[derive(Debug, thiserror::Error)]
pub enum JsBuildError {
    /// `node` or `npm` could not be started.
    #[error("cannot run `{program}` to build JavaScript handlers: {source}. Install Node.js 18 or later (with npm)")]
    Spawn {
        /// The program.
        program: &'static str,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// Installing the toolchain's packages failed.
    #[error("installing the JavaScript toolchain (`npm ci` in `{dir}`) failed; npm's output is above. Check that the npm registry is reachable")]
    Install {
        /// The toolchain directory.
        dir: PathBuf,
    },
    /// The user's code does not bundle.
    #[error("Runtime.UserCodeSyntaxError: `{entry}` cannot be built:\n{message}")]
    UserCode {
        /// The handler's file.
        entry: PathBuf,
        /// esbuild's errors, each as `file:line:col: message`.
        message: String,
    },
    /// componentize-js failed on a bundle that built.
    #[error("building `{entry}` into a component failed:\n{message}")]
    Componentize {
        /// The handler's file.
        entry: PathBuf,
        /// What componentize-js said.
        message: String,
    },
    /// The toolchain or cache directory could not be written.
    #[error("JavaScript build directory `{dir}`: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Builds Node.js handlers into components.
#[derive(Debug, Clone)]
pub struct JsBuilder {
    root: PathBuf,
    quiet: bool,
}

impl JsBuilder {
    /// A builder keeping its toolchain and components under
    /// `cache_dir/js`.
    pub fn new(cache_dir: &Path) -> Self {
        JsBuilder {
            root: cache_dir.join("js"),
            quiet: false,
        }
    }

    /// Says nothing on stderr (progress lines are for the command line).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// The component of `handler`: the one built earlier if none of its
    /// inputs changed, else a new build. The export is not part of it (the
    /// component finds it in `_HANDLER` at init), so functions that share
    /// a module share its component and its compiled artifact.
    pub fn build(&self, handler: &NodeHandler) -> Result<PathBuf, JsBuildError> {
        let toolchain_hash = toolchain_hash();
        let mut key = Sha256::new();
        key.update(toolchain_hash.as_bytes());
        key.update(handler.entry.as_os_str().as_encoded_bytes());
        for path in &handler.node_paths {
            key.update([0]);
            key.update(path.as_os_str().as_encoded_bytes());
        }
        let dir = self
            .root
            .join("functions")
            .join(&hex(&key.finalize())[..24]);
        let component = dir.join("component.wasm");
        let inputs = dir.join("inputs.json");
        let stamp = dir.join("stamp");
        if let (Ok(listed), Ok(recorded)) =
            (std::fs::read(&inputs), std::fs::read_to_string(&stamp))
        {
            if component.is_file() && fingerprint(&listed).as_deref() == Some(recorded.trim()) {
                return Ok(component);
            }
        }
        let toolchain = self.toolchain(&toolchain_hash)?;
        let io = |source| JsBuildError::Io {
            dir: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        if !self.quiet {
            eprintln!(
                "wasmfn: building {} (JavaScript, componentize-js)",
                handler.entry.display()
            );
        }
        let staged = dir.join(format!("component.{}.wasm", uuid::Uuid::new_v4().simple()));
        let mut node = Command::new("node");
        node.arg(toolchain.join("build.mjs"))
            .arg("--entry")
            .arg(&handler.entry)
            .arg("--out")
            .arg(&staged)
            .arg("--inputs")
            .arg(&inputs);
        for path in &handler.node_paths {
            node.arg("--node-path").arg(path);
        }
        let out = node
            .stdin(Stdio::null())
            .output()
            .map_err(|source| JsBuildError::Spawn {
                program: "node",
                source,
            })?;
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        match out.status.code() {
            Some(0) => {}
            Some(3) => {
                return Err(JsBuildError::UserCode {
                    entry: handler.entry.clone(),
                    message,
                })
            }
            _ => {
                let _ = std::fs::remove_file(&staged);
                return Err(JsBuildError::Componentize {
                    entry: handler.entry.clone(),
                    message,
                });
            }
        }
        std::fs::rename(&staged, &component).map_err(io)?;
        let listed = std::fs::read(&inputs).map_err(io)?;
        if let Some(print) = fingerprint(&listed) {
            std::fs::write(&stamp, print).map_err(io)?;
        }
        Ok(component)
    }

    /// The toolchain directory, written and installed on first use.
    fn toolchain(&self, hash: &str) -> Result<PathBuf, JsBuildError> {
        let dir = self.root.join(format!("toolchain-{}", &hash[..16]));
        if dir.join(".installed").is_file() {
            return Ok(dir);
        }
        let io = |source| JsBuildError::Io {
            dir: dir.clone(),
            source,
        };
        // Installed beside its final place and renamed into it, so that a
        // half-installed toolchain is never used.
        let staging = self
            .root
            .join(format!(".toolchain-{}", uuid::Uuid::new_v4().simple()));
        for (path, text) in TOOLCHAIN {
            let file = staging.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(&file, text).map_err(io)?;
        }
        if !self.quiet {
            eprintln!(
                "wasmfn: installing the JavaScript toolchain (componentize-js, esbuild) with npm ci, once, into {}",
                dir.display()
            );
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&staging)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|source| JsBuildError::Spawn {
                program: "npm",
                source,
            })?;
        if !status.success() {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(JsBuildError::Install { dir });
        }
        std::fs::write(staging.join(".installed"), hash).map_err(io)?;
        match std::fs::rename(&staging, &dir) {
            Ok(()) => {}
            // Another build installed it meanwhile: use that one.
            Err(_) if dir.join(".installed").is_file() => {
                let _ = std::fs::remove_dir_all(&staging);
            }
            Err(e) => return Err(io(e)),
        }
        Ok(dir)
    }
}

/// The hash of the toolchain's files: a new shim, lockfile or WIT makes a
/// new toolchain directory and rebuilds every component.
fn toolchain_hash() -> String {
    let mut hash = Sha256::new();
    for (path, text) in TOOLCHAIN {
        hash.update(path.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize())
}

/// The hash of the files `listed` (a JSON list of paths) names, path and
/// contents; `None` if the list is unreadable or a file is gone.
fn fingerprint(listed: &[u8]) -> Option<String> {
    let paths: Vec<PathBuf> = serde_json::from_slice(listed).ok()?;
    let mut hash = Sha256::new();
    for path in paths {
        let bytes = std::fs::read(&path).ok()?;
        hash.update(path.as_os_str().as_encoded_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Some(hex(&hash.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
