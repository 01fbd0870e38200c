//! The host: one engine, one linker and one artifact cache, from which any
//! number of functions are loaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Linker;

use super::cache::ArtifactCache;
use super::wasm_file::WasmFile;
use super::{Allocator, EngineOptions, WasmEngine};
use crate::capability::files::FunctionFiles;
use crate::capability::kv::Grants;
use crate::error::LoadError;
use crate::function::{ArtifactSource, Function, FunctionConfig, LoadStats, Siblings};
use crate::instance::{Exports, InstanceState};

/// Settings for a [`Host`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Engine and allocator settings.
    pub engine: EngineOptions,
    /// Where precompiled artifacts are cached.
    pub cache_dir: PathBuf,
    /// Empty `/tmp` directories each function keeps ready for its next
    /// instances; none makes each when its instance first asks.
    pub tmp_ready: usize,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            engine: EngineOptions::default(),
            cache_dir: ArtifactCache::default_dir(),
            tmp_ready: crate::capability::files::READY,
        }
    }
}

impl HostOptions {
    /// Sized for a process that runs at most `instances` instances at
    /// once over its life (a one-shot `invoke`, a Lambda execution
    /// environment), rather than for a server: a pool of just that many
    /// slots, and no directories made ahead of need.
    pub fn sized_for(mut self, instances: u32) -> Self {
        self.engine.max_instances = instances.max(1);
        self.tmp_ready = 0;
        self
    }
}

/// Loads functions and owns what they share.
pub struct Host {
    engine: WasmEngine,
    linker: Linker<InstanceState>,
    cache: ArtifactCache,
    options: HostOptions,
    /// The functions loaded on the engine, which share its slots.
    siblings: Arc<Siblings>,
}

impl Host {
    /// Builds the engine (probing for the pooling allocator) and the linker
    /// with WASI 0.2 and the wasmfn runtime interface.
    pub fn new(options: HostOptions) -> anyhow::Result<Self> {
        let engine = WasmEngine::new(&options.engine)?;
        crate::capability::files::descriptors::raise_limit();
        let linker = linker_of(&engine)?;
        Ok(Host {
            engine,
            linker,
            cache: ArtifactCache::new(options.cache_dir.clone()),
            options,
            siblings: Arc::default(),
        })
    }

    /// Which allocator the engine uses.
    pub fn allocator(&self) -> Allocator {
        self.engine.allocator()
    }

    /// The artifact cache.
    pub fn cache(&self) -> &ArtifactCache {
        &self.cache
    }

    /// Compiles `wasm` with this host's engine (which may target another
    /// machine) without loading it: the artifact's file name in a cache
    /// directory, and its bytes. For packaging.
    #[cfg(feature = "compiler")]
    pub fn precompile(&self, path: &Path, wasm: &[u8]) -> Result<(String, Vec<u8>), LoadError> {
        super::wasm_file::check_header(path, wasm)?;
        let engine = self.engine.engine();
        let bytes = engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Invalid {
                path: path.to_owned(),
                message: format!("{e:#}"),
            })?;
        let name = self
            .cache
            .artifact_path(engine, wasm)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok((name, bytes))
    }

    /// Compiles `wasm` into the cache, telling `observer`.
    #[cfg(feature = "compiler")]
    pub(super) fn compile(
        &self,
        wasm: &mut WasmFile,
        observer: &dyn LoadObserver,
    ) -> Result<(wasmtime::component::Component, LoadStats), LoadError> {
        let path = wasm.path().to_owned();
        let engine = self.engine.engine();
        let (component, stats) = self.cache.compile(engine, wasm, |bytes| {
            observer.compiling(&path);
            engine
                .precompile_component(bytes)
                .map_err(|e| LoadError::Invalid {
                    path: path.to_owned(),
                    message: format!("{e:#}"),
                })
        })?;
        observer.compiled(&path, stats.compile, &stats.artifact);
        Ok((component, stats))
    }

    /// The SnapStart snapshot of the component at `path` under `config`,
    /// taken now unless it is cached: the path of its `.wasm` in the cache.
    /// A snapshot is itself a component; packages ship it in place of the
    /// function's own.
    pub fn snapshot(&self, path: &Path, config: &FunctionConfig) -> Result<PathBuf, LoadError> {
        let mut wasm = WasmFile::open(path, &self.cache().digests_dir())?;
        if wasm.is_snapshot() {
            return Ok(path.to_owned());
        }
        Ok(self
            .snapshot_of(&mut wasm, config, &Quiet)?
            .path()
            .to_owned())
    }

    /// Loads the component at `path` as a function: reads it, takes its
    /// precompiled artifact from the cache (compiling it on first use),
    /// checks its exports and imports, and prepares instantiation.
    ///
    /// Compiling can take a fraction of a second; call this off the async
    /// executor's threads.
    pub fn load(&self, path: &Path, config: FunctionConfig) -> Result<Arc<Function>, LoadError> {
        self.load_observed(path, config, &Quiet)
    }

    /// Loads several functions at once, compiling those not yet cached in
    /// parallel (one thread each; Cranelift also parallelises within a
    /// component). Results come back in the order given.
    pub fn load_many(
        &self,
        functions: Vec<(std::path::PathBuf, FunctionConfig)>,
        observer: &(dyn LoadObserver + Sync),
    ) -> Vec<Result<Arc<Function>, LoadError>> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = functions
                .into_iter()
                .map(|(path, config)| {
                    scope.spawn(move || self.load_observed(&path, config, observer))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a load thread does not panic"))
                .collect()
        })
    }

    /// [`Host::load`], telling `observer` when a compile starts and ends, so
    /// that a command line can show progress.
    pub fn load_observed(
        &self,
        path: &Path,
        config: FunctionConfig,
        observer: &dyn LoadObserver,
    ) -> Result<Arc<Function>, LoadError> {
        if let Err(message) = config.validate(self.options.engine.max_memory_mb) {
            return Err(LoadError::Config {
                function: config.name.clone(),
                message,
            });
        }
        let mut wasm = WasmFile::open(path, &self.cache.digests_dir())?;
        let mut config = config;
        // A snapshot (shipped in a package, or named on the command line)
        // is restored, whatever the configuration says.
        let restored = wasm.is_snapshot();
        let mut wasm = if config.snap_start && !restored {
            self.snapshot_of(&mut wasm, &config, observer)?
        } else {
            wasm
        };
        let engine = self.engine.engine();
        let (component, stats) = match self.cache.load(engine, &wasm) {
            Some(found) => found,
            None => self.compile(&mut wasm, observer)?,
        };
        let path = wasm.path();
        // A snapshot's instances start where `init` left off.
        config.snap_start |= restored;
        let run_init = !config.snap_start;
        self.function_of(
            (engine, &self.linker, &self.siblings),
            path,
            component,
            Some(stats),
            config,
            run_init,
        )
    }

    /// The options it was made with.
    #[cfg(feature = "compiler")]
    pub(super) fn options(&self) -> &HostOptions {
        &self.options
    }

    /// The wasmtime engine.
    #[cfg(feature = "compiler")]
    pub(super) fn engine(&self) -> &wasmtime::Engine {
        self.engine.engine()
    }

    /// `component` (compiled from `path`) as a function of `config`, on
    /// `engine` among the `siblings` that share its slots: its exports
    /// found, its imports linked, its files and stores opened. Its instances
    /// run `init` when `run_init` says so.
    pub(super) fn function_of(
        &self,
        (engine, linker, siblings): (&wasmtime::Engine, &Linker<InstanceState>, &Arc<Siblings>),
        path: &Path,
        component: wasmtime::component::Component,
        stats: Option<LoadStats>,
        config: FunctionConfig,
        run_init: bool,
    ) -> Result<Arc<Function>, LoadError> {
        let handle =
            component
                .get_export_index(None, "handle")
                .ok_or_else(|| LoadError::MissingExport {
                    path: path.to_owned(),
                    export: "handle",
                })?;
        let handle_stream = component.get_export_index(None, "handle-stream");
        let init = component
            .get_export_index(None, "init")
            .filter(|_| run_init);
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Abi {
                path: path.to_owned(),
                message: format!("{e:#}"),
            })?;
        // A restored function's instances start with what init left in /tmp.
        let tmp_seed = Some(super::snapshot_tmp(path)).filter(|dir| !run_init && dir.is_dir());
        let files = FunctionFiles::new(
            &config.name,
            &config.layers,
            config.task_root.as_deref(),
            config.tmp_mb,
            self.options.tmp_ready,
        )
        .map_err(|reason| LoadError::Files {
            function: config.name.clone(),
            reason,
        })?
        .with_tmp_seed(tmp_seed);
        let mut kv = Grants::default();
        for grant in &config.key_value_stores {
            let store = crate::capability::kv::open(grant).map_err(|e| LoadError::Store {
                function: config.name.clone(),
                message: e.to_string(),
            })?;
            kv.grant(&grant.name, store);
        }
        let stats = stats.unwrap_or_else(|| LoadStats {
            source: ArtifactSource::Compiled,
            compile: std::time::Duration::ZERO,
            load: std::time::Duration::ZERO,
            artifact: path.to_owned(),
        });
        let function = Arc::new(Function::new(
            config,
            files,
            kv,
            engine.clone(),
            pre,
            Exports::new(handle, handle_stream, init),
            stats,
            siblings.clone(),
        ));
        siblings.add(&function);
        Ok(function)
    }
}

/// The linker of everything a guest may import, on `engine`.
pub(super) fn linker_of(engine: &WasmEngine) -> anyhow::Result<Linker<InstanceState>> {
    let mut linker = Linker::new(engine.engine());
    InstanceState::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Hears about compiles during [`Host::load_observed`].
pub trait LoadObserver: Sync {
    /// Cranelift is about to compile `wasm` (the cache had no artifact).
    fn compiling(&self, wasm: &Path);
    /// The compile of `wasm` took `took`; its artifact is at `artifact`.
    fn compiled(&self, wasm: &Path, took: std::time::Duration, artifact: &Path);
    /// `wasm`'s `init` is about to run for a snapshot (`snapStart`).
    fn snapshotting(&self, _wasm: &Path) {}
    /// The snapshot of `wasm`'s `init` took `took`.
    fn snapshotted(&self, _wasm: &Path, _took: std::time::Duration) {}
}

/// The observer of [`Host::load`]: says nothing.
pub(super) struct Quiet;

impl LoadObserver for Quiet {
    fn compiling(&self, _: &Path) {}
    fn compiled(&self, _: &Path, _: std::time::Duration, _: &Path) {}
}
