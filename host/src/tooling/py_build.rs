//! Builds the engine of Python Lambda handlers (`handler: module.function`
//! with a `python3*` runtime), with the pinned toolchain of `python/`.
//!
//! Every Python function runs on one component, the engine: AWS's Python
//! runtime contract (`python/wasmfn_engine.py`) on CPython, made by
//! componentize-py once per toolchain. componentize-py snapshots the
//! engine after its module scope ran, with the standard library modules
//! user code imports already imported (the component carries no library
//! files). A function needs no build at all: its directory is mounted at
//! `/var/task` and the engine imports the handler's module from there at
//! init, as Lambda does.
//!
//! On first use the toolchain's files are written to
//! `<cache>/python/toolchain-<hash>/`, componentize-py is installed into a
//! virtualenv there with `pip install --require-hashes` from
//! `requirements.txt`, and the engine is built; every later use is offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::toolchain::{self, publish};
use crate::manifest::PythonHandler;

/// The toolchain's own files, as `(path inside the toolchain, contents)`;
/// with [`toolchain::ENGINE_WIT`] and [`toolchain::KEYVALUE_WIT`] they make
/// the toolchain.
const FILES: &[(&str, &str)] = &[
    (
        "requirements.txt",
        include_str!("../../../python/requirements.txt"),
    ),
    (
        "wasmfn_engine.py",
        include_str!("../../../python/wasmfn_engine.py"),
    ),
    (
        "wit/py-handler.wit",
        include_str!("../../../python/wit/py-handler.wit"),
    ),
];

const TOOLCHAIN: &[&[(&str, &str)]] = &[FILES, toolchain::ENGINE_WIT, toolchain::KEYVALUE_WIT];

/// Why the Python engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PyBuildError {
    /// `python3` or a toolchain program could not be started.
    #[error("cannot run `{program}` to build the Python engine: {reason}. Install Python 3.9 or later (with venv)")]
    Spawn {
        /// The program.
        program: String,
        /// Why it could not start.
        reason: std::io::Error,
    },
    /// Installing componentize-py failed.
    #[error("installing the Python toolchain (componentize-py, in `{dir}`) failed:\n{message}\nCheck that PyPI is reachable")]
    Install {
        /// The toolchain directory.
        dir: PathBuf,
        /// What pip or venv said.
        message: String,
    },
    /// componentize-py failed on the engine.
    #[error("building the Python engine failed:\n{message}")]
    Build {
        /// What componentize-py said.
        message: String,
    },
    /// The toolchain directory could not be written.
    #[error("Python build directory `{dir}`: {reason}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        reason: std::io::Error,
    },
}

/// A Python function: the engine component and the directory to mount at
/// `/var/task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFunction {
    /// The engine component, the same for every function of a toolchain.
    pub engine: PathBuf,
    /// The function's code directory.
    pub task_root: PathBuf,
}

/// Builds the Python engine.
#[derive(Debug, Clone)]
pub struct PyBuilder {
    root: PathBuf,
    quiet: bool,
}

impl PyBuilder {
    /// A builder keeping its toolchain under `cache_dir/python`.
    pub fn new(cache_dir: &Path) -> Self {
        PyBuilder {
            root: cache_dir.join("python"),
            quiet: false,
        }
    }

    /// Says nothing on stderr (progress lines are for the command line).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// The function of `handler`: the engine (built on first use) and the
    /// handler's code directory.
    pub fn build(&self, handler: &PythonHandler) -> Result<PyFunction, PyBuildError> {
        Ok(PyFunction {
            engine: self.engine()?,
            task_root: handler.task_root.clone(),
        })
    }

    /// The engine component, built on first use.
    pub fn engine(&self) -> Result<PathBuf, PyBuildError> {
        let hash = toolchain::hash(TOOLCHAIN);
        let dir = self.root.join(format!("toolchain-{}", &hash[..16]));
        let engine = dir.join("engine.wasm");
        if dir.join(".installed").is_file() {
            return Ok(engine);
        }
        let io = |reason| PyBuildError::Io {
            dir: dir.clone(),
            reason,
        };
        let staging = self
            .root
            .join(format!(".toolchain-{}", uuid::Uuid::new_v4().simple()));
        toolchain::write(&staging, TOOLCHAIN).map_err(io)?;
        if !self.quiet {
            eprintln!(
                "wasmfn: installing the Python toolchain (componentize-py) and building its engine, once, into {}",
                dir.display()
            );
        }
        let result = install_and_build(&staging);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(match e {
                PyBuildError::Install { message, .. } => PyBuildError::Install { dir, message },
                other => other,
            });
        }
        std::fs::write(staging.join(".installed"), &hash).map_err(io)?;
        publish(&staging, &dir).map_err(io)?;
        Ok(engine)
    }
}

/// In `dir`: a virtualenv with componentize-py, then `engine.wasm`.
fn install_and_build(dir: &Path) -> Result<(), PyBuildError> {
    let install = |message: String| PyBuildError::Install {
        dir: dir.to_owned(),
        message,
    };
    let venv = run(Command::new("python3").args(["-m", "venv", "venv"]), dir)?;
    if !venv.status.success() {
        return Err(install(stderr(&venv)));
    }
    let pip = run(
        Command::new(dir.join("venv/bin/pip")).args([
            "install",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "-r",
            "requirements.txt",
        ]),
        dir,
    )?;
    if !pip.status.success() {
        return Err(install(stderr(&pip)));
    }
    let build = run(
        Command::new(dir.join("venv/bin/componentize-py")).args([
            "-d",
            "wit",
            "-w",
            "wasmfn:py-handler/handler@0.1.0",
            "componentize",
            "wasmfn_engine",
            "-o",
            "engine.wasm",
        ]),
        dir,
    )?;
    if !build.status.success() {
        return Err(PyBuildError::Build {
            message: stderr(&build),
        });
    }
    Ok(())
}

fn run(command: &mut Command, dir: &Path) -> Result<std::process::Output, PyBuildError> {
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|reason| PyBuildError::Spawn {
            program: command.get_program().to_string_lossy().into_owned(),
            reason,
        })
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}
