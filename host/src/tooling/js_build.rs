//! Builds Node.js-style Lambda handlers (`handler: file.export` with a
//! `nodejs*` runtime), with the pinned toolchain of `js/`.
//!
//! Every JavaScript function runs on one component, the engine: the Node.js
//! runtime contract (`js/engine.js`) on StarlingMonkey, made by
//! componentize-js once per toolchain. A function is its bundle: esbuild
//! bundles the user's file and its dependencies into a directory that the
//! host mounts at `/var/task`, and the engine evaluates it at init. So a
//! second JavaScript function compiles nothing (its component, and so its
//! artifact, is the first one's), and a server of N JavaScript functions
//! holds one engine artifact, not N.
//!
//! The toolchain's files are part of this binary. On first use they are
//! written to `<cache>/js/toolchain-<hash>/` and its npm packages are
//! installed there with `npm ci` from the lockfile; every later build runs
//! offline. A bundle is kept with the list of the user's files that went
//! into it and a hash of their contents, so that a later build that finds
//! them unchanged costs no `node` at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::toolchain::{self, hex, publish};
use crate::manifest::NodeHandler;

/// The toolchain's own files, as `(path inside the toolchain, contents)`;
/// with [`toolchain::ENGINE_WIT`] and [`toolchain::KEYVALUE_WIT`] they make
/// the toolchain.
const FILES: &[(&str, &str)] = &[
    ("package.json", include_str!("../../../js/package.json")),
    (
        "package-lock.json",
        include_str!("../../../js/package-lock.json"),
    ),
    ("engine.js", include_str!("../../../js/engine.js")),
    ("early.js", include_str!("../../../js/early.js")),
    ("stream.js", include_str!("../../../js/stream.js")),
    ("build.mjs", include_str!("../../../js/build.mjs")),
    (
        "wit/js-handler.wit",
        include_str!("../../../js/wit/js-handler.wit"),
    ),
];

const TOOLCHAIN: &[&[(&str, &str)]] = &[FILES, toolchain::ENGINE_WIT, toolchain::KEYVALUE_WIT];

/// Why a JavaScript handler could not be built.
#[derive(Debug, thiserror::Error)]
pub enum JsBuildError {
    /// `node` or `npm` could not be started.
    #[error("cannot run `{program}` to build JavaScript handlers: {reason}. Install Node.js 18 or later (with npm)")]
    Spawn {
        /// The program.
        program: &'static str,
        /// Why it could not start.
        reason: std::io::Error,
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
    /// componentize-js failed to make the engine, or the bundle could not
    /// be written.
    #[error("building {what} failed:\n{message}")]
    Build {
        /// What was being built.
        what: String,
        /// What the build said.
        message: String,
    },
    /// The toolchain or cache directory could not be written.
    #[error("JavaScript build directory `{dir}`: {reason}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        reason: std::io::Error,
    },
}

/// A built JavaScript function: the engine component and the function's
/// code directory, to mount at `/var/task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsFunction {
    /// The engine component, the same for every function of a toolchain.
    pub engine: PathBuf,
    /// The directory holding the function's bundle (`index.js`) and its
    /// source mappings (`index.map.json`).
    pub task_root: PathBuf,
}

/// Builds Node.js handlers for the engine.
#[derive(Debug, Clone)]
pub struct JsBuilder {
    root: PathBuf,
    quiet: bool,
}

impl JsBuilder {
    /// A builder keeping its toolchain and bundles under `cache_dir/js`.
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

    /// The function of `handler`: the bundle built earlier if none of its
    /// inputs changed, else a new one, and the engine (built on first use).
    /// The export is not part of it (the engine finds it in `_HANDLER` at
    /// init), so functions that share a module share its bundle.
    pub fn build(&self, handler: &NodeHandler) -> Result<JsFunction, JsBuildError> {
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
        let task_root = dir.join("task");
        let inputs = dir.join("inputs.json");
        let stamp = dir.join("stamp");
        let toolchain = self.toolchain(&toolchain_hash)?;
        let engine = self.engine(&toolchain)?;
        if let (Ok(listed), Ok(recorded)) =
            (std::fs::read(&inputs), std::fs::read_to_string(&stamp))
        {
            if task_root.join("index.js").is_file()
                && fingerprint(&listed).as_deref() == Some(recorded.trim())
            {
                return Ok(JsFunction { engine, task_root });
            }
        }
        let io = |reason| JsBuildError::Io {
            dir: dir.clone(),
            reason,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        // Bundled beside its final place and renamed into it, so that a
        // reader never sees half a bundle.
        let staged = dir.join(format!("task.{}", uuid::Uuid::new_v4().simple()));
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
        let out = run(&mut node)?;
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        match out.status.code() {
            Some(0) => {}
            Some(3) => {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(JsBuildError::UserCode {
                    entry: handler.entry.clone(),
                    message,
                });
            }
            _ => {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(JsBuildError::Build {
                    what: format!("the bundle of `{}`", handler.entry.display()),
                    message,
                });
            }
        }
        let _ = std::fs::remove_dir_all(&task_root);
        if let Err(e) = std::fs::rename(&staged, &task_root) {
            let _ = std::fs::remove_dir_all(&staged);
            // Another build of the same inputs put its bundle there first.
            if !task_root.join("index.js").is_file() {
                return Err(io(e));
            }
        }
        let listed = std::fs::read(&inputs).map_err(io)?;
        if let Some(print) = fingerprint(&listed) {
            std::fs::write(&stamp, print).map_err(io)?;
        }
        Ok(JsFunction { engine, task_root })
    }

    /// The engine component of `toolchain`, built on first use.
    fn engine(&self, toolchain: &Path) -> Result<PathBuf, JsBuildError> {
        let engine = toolchain.join("engine.wasm");
        if engine.is_file() {
            return Ok(engine);
        }
        if !self.quiet {
            eprintln!(
                "wasmfn: building the JavaScript engine (componentize-js), once per toolchain, into {}",
                engine.display()
            );
        }
        let staged = toolchain.join(format!("engine.{}.wasm", uuid::Uuid::new_v4().simple()));
        let out = run(Command::new("node")
            .arg(toolchain.join("build.mjs"))
            .arg("--engine")
            .arg("--out")
            .arg(&staged))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&staged);
            return Err(JsBuildError::Build {
                what: "the JavaScript engine".into(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        std::fs::rename(&staged, &engine).map_err(|reason| JsBuildError::Io {
            dir: toolchain.to_owned(),
            reason,
        })?;
        Ok(engine)
    }

    /// The toolchain directory, written on first use. Its `node_modules`
    /// is a link to the packages of its lockfile, installed once for every
    /// toolchain with that lockfile.
    fn toolchain(&self, hash: &str) -> Result<PathBuf, JsBuildError> {
        let dir = self.root.join(format!("toolchain-{}", &hash[..16]));
        if dir.join(".installed").is_file() {
            return Ok(dir);
        }
        let io = |reason| JsBuildError::Io {
            dir: dir.clone(),
            reason,
        };
        let packages = self.packages()?;
        // Written beside its final place and renamed into it, so that a
        // half-written toolchain is never used.
        let staging = self
            .root
            .join(format!(".toolchain-{}", uuid::Uuid::new_v4().simple()));
        toolchain::write(&staging, TOOLCHAIN).map_err(io)?;
        std::os::unix::fs::symlink(&packages, staging.join("node_modules")).map_err(io)?;
        std::fs::write(staging.join(".installed"), hash).map_err(io)?;
        publish(&staging, &dir).map_err(io)?;
        Ok(dir)
    }

    /// The npm packages of the toolchain's lockfile, installed with
    /// `npm ci` on first use.
    fn packages(&self) -> Result<PathBuf, JsBuildError> {
        let lock = FILES
            .iter()
            .filter(|(path, _)| path.starts_with("package"))
            .fold(Sha256::new(), |hash, (_, text)| hash.chain_update(text));
        let dir = self
            .root
            .join(format!("npm-{}", &hex(&lock.finalize())[..16]));
        let modules = dir.join("node_modules");
        if dir.join(".installed").is_file() {
            return Ok(modules);
        }
        let io = |reason| JsBuildError::Io {
            dir: dir.clone(),
            reason,
        };
        let staging = self
            .root
            .join(format!(".npm-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&staging).map_err(io)?;
        for (path, text) in FILES.iter().filter(|(p, _)| p.starts_with("package")) {
            std::fs::write(staging.join(path), text).map_err(io)?;
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
            .map_err(|reason| JsBuildError::Spawn {
                program: "npm",
                reason,
            })?;
        if !status.success() {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(JsBuildError::Install { dir });
        }
        std::fs::write(staging.join(".installed"), "").map_err(io)?;
        publish(&staging, &dir).map_err(io)?;
        Ok(modules)
    }
}

/// Runs a build step, its stdout discarded and its stderr kept.
fn run(command: &mut Command) -> Result<std::process::Output, JsBuildError> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|reason| JsBuildError::Spawn {
            program: "node",
            reason,
        })
}

/// The hash of the toolchain's files: a new engine, lockfile or WIT makes a
/// new toolchain directory, a new engine and new bundles.
fn toolchain_hash() -> String {
    toolchain::hash(TOOLCHAIN)
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
