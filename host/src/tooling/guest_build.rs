//! Builds guest crates into components with cargo.
//!
//! A manifest's `handler:` may name a crate directory instead of a `.wasm`
//! file; the host then builds it for `wasm32-wasip2` in release mode, as a
//! user would by hand, and runs the result. Cargo's JSON messages say where
//! each artifact landed, so any crate layout and target directory works.
//! With a memo directory, a crate whose inputs are unchanged since its last
//! build is not given to cargo at all (see [`super::fingerprint`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target every guest is built for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// Why a guest could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo could not be started.
    #[error("cannot run cargo to build `{dir}`: {reason}. Install Rust with rustup")]
    Spawn {
        /// The crate or workspace directory.
        dir: PathBuf,
        /// Why spawning failed.
        reason: std::io::Error,
    },
    /// The toolchain has no standard library for the guest target.
    #[error("the wasm32-wasip2 target is not installed for the toolchain building `{dir}`. Run `rustup target add wasm32-wasip2` there")]
    TargetMissing {
        /// The crate or workspace directory.
        dir: PathBuf,
    },
    /// cargo ran and failed.
    #[error("building `{dir}` for wasm32-wasip2 failed; cargo's errors are above")]
    Failed {
        /// The crate or workspace directory.
        dir: PathBuf,
    },
    /// cargo succeeded but produced no component for the crate.
    #[error("building `{dir}` produced no .wasm; is it a `cdylib` (or binary) crate?")]
    NoArtifact {
        /// The crate directory.
        dir: PathBuf,
    },
}

/// Builds guest crates.
#[derive(Debug, Clone, Default)]
pub struct GuestBuilder {
    target_dir: Option<PathBuf>,
    quiet: bool,
    memo_dir: Option<PathBuf>,
    cargo: Option<PathBuf>,
}

impl GuestBuilder {
    /// A builder using cargo's default target directory.
    pub fn new() -> Self {
        GuestBuilder::default()
    }

    /// Builds into `dir` instead of the workspace's own target directory.
    pub fn target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    /// Hides cargo's progress output.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Runs this cargo (default: `$CARGO`, else `cargo` on the PATH).
    pub fn cargo(mut self, cargo: impl Into<PathBuf>) -> Self {
        self.cargo = Some(cargo.into());
        self
    }

    /// Remembers each crate's inputs under `dir` after a build, and skips
    /// cargo for a crate whose inputs are unchanged since.
    pub fn remember_in(mut self, dir: impl Into<PathBuf>) -> Self {
        self.memo_dir = Some(dir.into());
        self
    }

    /// Builds the crate in `dir` and returns its `.wasm`.
    pub fn build_crate(&self, dir: &Path) -> Result<PathBuf, BuildError> {
        let dir = &std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        // A target directory of the caller's is not in the memo's key.
        let memo = self
            .memo_dir
            .as_deref()
            .filter(|_| self.target_dir.is_none());
        if let Some(wasm) = memo.and_then(|memo| super::fingerprint::up_to_date(memo, dir)) {
            tracing::debug!(
                "`{}` is unchanged since it was built; not running cargo",
                dir.display()
            );
            return Ok(wasm);
        }
        let started = std::time::SystemTime::now();
        let manifest = dir.join("Cargo.toml");
        let wanted = std::fs::canonicalize(&manifest).unwrap_or(manifest.clone());
        let built = self
            .run(dir, &["--manifest-path", &manifest.to_string_lossy()])
            .and_then(|artifacts| {
                artifacts
                    .into_iter()
                    .find(|a| a.manifest_path == wanted)
                    .map(|a| a.wasm)
                    .ok_or_else(|| BuildError::NoArtifact {
                        dir: dir.to_owned(),
                    })
            });
        if let Some(memo) = memo {
            match &built {
                Ok(wasm) => {
                    if !super::fingerprint::remember(memo, dir, wasm, started) {
                        super::fingerprint::forget(memo, dir);
                    }
                }
                Err(_) => super::fingerprint::forget(memo, dir),
            }
        }
        built
    }

    /// Builds every member of the workspace in `dir` and returns each
    /// package's `.wasm` by package name.
    pub fn build_workspace(&self, dir: &Path) -> Result<BTreeMap<String, PathBuf>, BuildError> {
        let dir = &std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        let manifest = dir.join("Cargo.toml");
        let artifacts = self.run(
            dir,
            &[
                "--workspace",
                "--manifest-path",
                &manifest.to_string_lossy(),
            ],
        )?;
        Ok(artifacts.into_iter().map(|a| (a.package, a.wasm)).collect())
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Result<Vec<Artifact>, BuildError> {
        // cargo runs inside `dir` (so that its rust-toolchain.toml and
        // .cargo/config.toml apply); paths given to it must not be relative
        // to the caller's directory.
        let dir = &std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        let cargo = self
            .cargo
            .clone()
            .map(Into::into)
            .or_else(|| std::env::var_os("CARGO"))
            .unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(dir)
            .args(["build", "--release", "--target", GUEST_TARGET])
            .args(["--message-format", "json-render-diagnostics"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(if self.quiet {
                Stdio::null()
            } else {
                Stdio::inherit()
            });
        if let Some(target_dir) = &self.target_dir {
            cmd.env("CARGO_TARGET_DIR", target_dir);
        }
        let output = cmd.output().map_err(|reason| BuildError::Spawn {
            dir: dir.to_owned(),
            reason,
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(if target_installed(dir) {
                BuildError::Failed {
                    dir: dir.to_owned(),
                }
            } else {
                BuildError::TargetMissing {
                    dir: dir.to_owned(),
                }
            });
        }
        Ok(stdout.lines().filter_map(parse_artifact).collect())
    }
}

/// Whether the toolchain that builds in `dir` (its rust-toolchain.toml
/// applies) has the guest target's standard library.
fn target_installed(dir: &Path) -> bool {
    let output = Command::new("rustc")
        .current_dir(dir)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let libdir = String::from_utf8_lossy(&out.stdout);
            Path::new(libdir.trim()).is_dir()
        }
        _ => false,
    }
}

struct Artifact {
    package: String,
    manifest_path: PathBuf,
    wasm: PathBuf,
}

/// Picks the `.wasm` out of one `compiler-artifact` message.
fn parse_artifact(line: &str) -> Option<Artifact> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let wasm = msg
        .get("filenames")?
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.ends_with(".wasm"))?;
    let manifest_path = PathBuf::from(msg.get("manifest_path")?.as_str()?);
    let package = msg.get("target")?.get("name")?.as_str()?.replace('_', "-");
    Some(Artifact {
        package,
        manifest_path,
        wasm: PathBuf::from(wasm),
    })
}
