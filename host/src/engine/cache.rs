//! The on-disk cache of precompiled components.
//!
//! Cranelift takes ~100 ms per function; loading its output back takes tens
//! of microseconds because `Component::deserialize_file` maps the file into
//! memory. So each component is compiled at most once per engine
//! configuration, ever, and every later load — in this process or the next —
//! is a cache hit.
//!
//! The key is the SHA-256 of the component's bytes together with wasmtime's
//! `precompile_compatibility_hash`, which covers the wasmtime version, the
//! target CPU's features and every engine setting that changes generated code.
//! A stale or foreign artifact therefore never matches; it is simply not used.
//! The component's digest is itself remembered per file (see
//! [`super::wasm_file`]), so a load of an unchanged component maps its
//! artifact without reading the component at all.
//!
//! Within a process, a loaded artifact is kept and handed to every later
//! load of the same component: the functions that share a component (every
//! JavaScript function runs on the one engine component) share one mapping
//! of its code, not one each.

use std::collections::HashMap;
#[cfg(feature = "compiler")]
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(feature = "compiler")]
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use super::wasm_file::{hex, WasmFile};
#[cfg(feature = "compiler")]
use crate::error::LoadError;
use crate::function::{ArtifactSource, LoadStats};

/// The most loaded components kept for reuse within a process.
const MAX_LOADED: usize = 64;

/// A directory of `.cwasm` artifacts.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    /// The artifacts this process has loaded (path and component), by the
    /// component's digest: one cache serves one engine.
    loaded: Arc<Mutex<Loaded>>,
}

/// A process's loaded artifacts: by component digest, its path and the
/// component.
type Loaded = HashMap<[u8; 32], (PathBuf, Component)>;

impl ArtifactCache {
    /// A cache rooted at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ArtifactCache {
            dir: dir.into(),
            loaded: Arc::default(),
        }
    }

    /// The per-user default: `$XDG_CACHE_HOME/wasmfn`, else
    /// `$HOME/.cache/wasmfn`, else a directory under the system temp dir.
    pub fn default_dir() -> PathBuf {
        if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(xdg).join("wasmfn");
        }
        if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(home).join(".cache").join("wasmfn");
        }
        std::env::temp_dir().join("wasmfn-cache")
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the digests of component files are remembered.
    pub fn digests_dir(&self) -> PathBuf {
        self.dir.join("digests")
    }

    /// The artifact path for `wasm` under `engine`.
    #[cfg(feature = "compiler")]
    pub fn artifact_path(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        self.artifact_path_of(engine, &Sha256::digest(wasm).into())
    }

    /// The artifact path for a component of SHA-256 `digest` under `engine`.
    #[cfg(feature = "compiler")]
    pub fn artifact_path_of(&self, engine: &Engine, digest: &[u8; 32]) -> PathBuf {
        let mut engine_hash = ShaHasher(Sha256::new());
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let engine_hash = engine_hash.0.finalize();
        self.dir.join(format!(
            "{}-{}.cwasm",
            hex(&digest[..16]),
            hex(&engine_hash[..8])
        ))
    }

    /// The files that may hold the component of `digest` compiled for
    /// `engine`.
    ///
    /// With the compiler, the one named by the engine's compatibility hash.
    /// Without it the engine cannot name its own artifacts (wasmtime derives
    /// that hash from the compiler's settings), so every artifact of the
    /// component is a candidate, and wasmtime's check on deserializing
    /// (its version, the target, the CPU's features, the engine's settings)
    /// says which one fits. A package holds one per component.
    fn candidates(&self, engine: &Engine, digest: &[u8; 32]) -> Vec<PathBuf> {
        #[cfg(feature = "compiler")]
        {
            vec![self.artifact_path_of(engine, digest)]
        }
        #[cfg(not(feature = "compiler"))]
        {
            let _ = engine;
            let prefix = format!("{}-", hex(&digest[..16]));
            let mut found: Vec<PathBuf> = std::fs::read_dir(&self.dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension().is_some_and(|e| e == "cwasm")
                        && path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&prefix))
                })
                .collect();
            found.sort();
            found
        }
    }

    /// The artifact of `wasm` for `engine` if one is cached, without reading
    /// the component: the one this process already loaded, else one mapped
    /// from the cache directory.
    pub fn load(&self, engine: &Engine, wasm: &WasmFile) -> Option<(Component, LoadStats)> {
        let digest = *wasm.digest();
        let loaded = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
            .cloned();
        if let Some((artifact, component)) = loaded {
            return Some((
                component,
                LoadStats {
                    source: ArtifactSource::Cache,
                    compile: Duration::ZERO,
                    load: Duration::ZERO,
                    artifact,
                },
            ));
        }
        for artifact in self.candidates(engine, &digest) {
            if !artifact.exists() {
                continue;
            }
            let start = Instant::now();
            // SAFETY: the file was written by `precompile_component` into a
            // directory only this cache (or `wasmfn package`) writes, by an
            // atomic rename; wasmtime checks that it fits the engine.
            match unsafe { Component::deserialize_file(engine, &artifact) } {
                Ok(component) => {
                    self.keep(digest, &artifact, &component);
                    return Some((
                        component,
                        LoadStats {
                            source: ArtifactSource::Cache,
                            compile: Duration::ZERO,
                            load: start.elapsed(),
                            artifact,
                        },
                    ));
                }
                // A truncated or foreign file: compiled again over it (or,
                // without the compiler, the next candidate tried).
                Err(e) => tracing::warn!("not using the artifact {}: {e:#}", artifact.display()),
            }
        }
        None
    }

    /// Compiles `wasm` with `compile` and caches the result.
    #[cfg(feature = "compiler")]
    pub fn compile(
        &self,
        engine: &Engine,
        wasm: &mut WasmFile,
        compile: impl FnOnce(&[u8]) -> Result<Vec<u8>, LoadError>,
    ) -> Result<(Component, LoadStats), LoadError> {
        // The bytes to compile are those read now, and the artifact is
        // named by their digest (the file may have changed since it was
        // opened).
        wasm.bytes()?;
        let digest = *wasm.digest();
        let artifact = self.artifact_path_of(engine, &digest);
        let path = wasm.path().to_owned();
        let bytes = wasm.bytes()?;
        let start = Instant::now();
        let bytes = compile(bytes)?;
        let compile_time = start.elapsed();
        self.write_atomically(&artifact, &bytes)?;
        let start = Instant::now();
        // SAFETY: we just wrote this file from our own engine.
        let component = unsafe { Component::deserialize_file(engine, &artifact) }.map_err(|e| {
            LoadError::Invalid {
                path: path.to_owned(),
                message: format!("{e:#}"),
            }
        })?;
        self.keep(digest, &artifact, &component);
        Ok((
            component,
            LoadStats {
                source: ArtifactSource::Compiled,
                compile: compile_time,
                load: start.elapsed(),
                artifact,
            },
        ))
    }

    /// Keeps `component` for later loads of the component of `digest` in
    /// this process.
    fn keep(&self, digest: [u8; 32], artifact: &Path, component: &Component) {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded, so that a long `serve --watch` of rebuilt components
        // does not keep every old one mapped.
        if loaded.len() >= MAX_LOADED {
            loaded.clear();
        }
        loaded.insert(digest, (artifact.to_owned(), component.clone()));
    }

    /// Writes `bytes` to `path` so that a concurrent reader sees either no
    /// file or the whole file, never a prefix.
    #[cfg(feature = "compiler")]
    pub(super) fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
        let err = |message: String| LoadError::Cache {
            dir: self.dir.clone(),
            message,
        };
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent).map_err(|e| err(format!("cannot create it: {e}")))?;
        // Unique per writer: two loads of one component (in this process or
        // another) may compile it at the same time; the last rename wins and
        // both artifacts are the same.
        let tmp = path.with_extension(format!("tmp.{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, bytes).map_err(|e| err(format!("cannot write: {e}")))?;
        std::fs::rename(&tmp, path).map_err(|e| err(format!("cannot rename: {e}")))?;
        Ok(())
    }
}

/// Feeds `Hash` output into SHA-256, so that the engine hash is stable across
/// processes (std's `DefaultHasher` makes no such promise).
#[cfg(feature = "compiler")]
pub(super) struct ShaHasher(pub(super) Sha256);

#[cfg(feature = "compiler")]
impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        // Never consulted: only the SHA-256 digest is read.
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
