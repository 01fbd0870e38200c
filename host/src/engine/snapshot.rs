//! SnapStart: a function's instances start from a snapshot of its `init`.
//!
//! With `snapStart: true` the host runs the function's `init` once, at
//! load time, in an instance that has the function's real configuration
//! (its environment, its layers at `/opt`, its code at `/var/task`, its
//! granted stores), and wasmtime-wizer writes that instance's memories and
//! globals into a new component. That component is compiled and cached like
//! any other, and every instance of the function is made from it: `init`
//! does not run again, and a cold start costs what instantiation costs,
//! however much work `init` did.
//!
//! The snapshot is cached under `<cache>/snapshots/`, keyed by the
//! component, everything of the configuration that `init` could observe, and
//! the engine. Changing any of them takes a new snapshot.
//!
//! What a snapshot freezes is SnapStart's list: whatever `init` read (its
//! environment variables, the clock, random numbers it drew) is what every
//! restored instance sees. WASI's random and clocks stay live, since they
//! are host calls. Host resources cannot be frozen at all, so an `init`
//! that returns holding one (an open file, a stream, a bucket, a request)
//! fails the snapshot with a message saying so. What `init` wrote to
//! `/tmp` is kept beside the snapshot, and every restored instance's `/tmp`
//! starts as a copy of it, as SnapStart snapshots the disk too.

use std::hash::{Hash, Hasher as _};
use std::path::Path;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime_wizer::Wizer;

use super::cache::ShaHasher;
use super::host::{linker_of, Host, LoadObserver};
use super::wasm_file::{hex, WasmFile};
use super::{mark_section, WasmEngine};
use crate::error::LoadError;
use crate::function::FunctionConfig;

impl Host {
    /// The snapshot of `wasm`'s `init` under `config`, taken now unless it
    /// is cached.
    pub(super) fn snapshot_of(
        &self,
        wasm: &mut WasmFile,
        config: &FunctionConfig,
        observer: &dyn LoadObserver,
    ) -> Result<WasmFile, LoadError> {
        let out = self.cache().dir().join("snapshots").join(format!(
            "{}.wasm",
            snapshot_key(self, wasm.digest(), config)
        ));
        if out.is_file() {
            return WasmFile::open(&out, &self.cache().digests_dir());
        }
        let path = wasm.path().to_owned();
        observer.snapshotting(&path);
        let start = std::time::Instant::now();
        let mut bytes =
            self.take_snapshot(&path, wasm.bytes()?, config, &super::snapshot_tmp(&out))?;
        bytes.extend_from_slice(&mark_section());
        self.cache().write_atomically(&out, &bytes)?;
        observer.snapshotted(&path, start.elapsed());
        WasmFile::with_bytes(&out, bytes)
    }

    /// Runs `init` and snapshots it; what init left in `/tmp` goes to
    /// `tmp_out` (which is removed when it left nothing).
    fn take_snapshot(
        &self,
        path: &Path,
        wasm: &[u8],
        config: &FunctionConfig,
        tmp_out: &Path,
    ) -> Result<Vec<u8>, LoadError> {
        let failed = |message: String| LoadError::Snapshot {
            function: config.name.clone(),
            message,
        };
        let mut wizer = Wizer::new();
        wizer.keep_init_func(true);
        let (cx, instrumented) = wizer.instrument_component(wasm).map_err(|e| {
            failed(format!(
                "wasmtime-wizer cannot snapshot this component: {e:#}"
            ))
        })?;
        // An engine of its own, made for this one run.
        let compiled = |winch| -> Result<_, LoadError> {
            let engine = WasmEngine::for_snapshots(&self.options().engine, winch)
                .map_err(|e| failed(format!("cannot make its engine: {e:#}")))?;
            let component =
                Component::new(engine.engine(), &instrumented).map_err(|e| LoadError::Invalid {
                    path: path.to_owned(),
                    message: format!("{e:#}"),
                })?;
            Ok((engine, component))
        };
        let (engine, component) = match compiled(true) {
            Ok(made) => made,
            Err(e) => {
                tracing::debug!(
                    "Winch cannot compile the component to snapshot ({e}); using Cranelift"
                );
                compiled(false)?
            }
        };
        let linker =
            linker_of(&engine).map_err(|e| failed(format!("cannot link its engine: {e:#}")))?;
        let function = self.function_of(
            (engine.engine(), &linker, &std::sync::Arc::default()),
            path,
            component,
            None,
            config.clone(),
            true,
        )?;
        // The init runs on a runtime of its own: loading is synchronous, and
        // may be called from inside another runtime's blocking section.
        let bytes = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| failed(format!("cannot start a runtime: {e}")))?;
                    runtime.block_on(async {
                        let mut instance = function
                            .instantiate()
                            .await
                            .map_err(|e| failed(format!("instantiating: {e}")))?;
                        let init = instance.init().await;
                        if let Err(e) = init.result {
                            let logs = init.logs.to_cloudwatch("");
                            return Err(failed(format!(
                                "init failed, so there is nothing to snapshot: {}: {}{}",
                                e.error_type,
                                e.error_message,
                                if logs.is_empty() {
                                    String::new()
                                } else {
                                    format!("\ninit's output:\n{logs}")
                                }
                            )));
                        }
                        // The disk is part of the snapshot, as on SnapStart.
                        let staging = tmp_out.with_extension(format!("tmp-{}", std::process::id()));
                        let _ = std::fs::remove_dir_all(&staging);
                        let taken = async {
                            let kept = instance.copy_tmp(&staging).map_err(|e| {
                                failed(format!("copying what init left in /tmp: {e}"))
                            })?;
                            let bytes = instance
                                .snapshot(&wizer, &cx)
                                .await
                                .map_err(|e| failed(e.to_string()))?;
                            Ok((kept, bytes))
                        }
                        .await;
                        let _ = std::fs::remove_dir_all(tmp_out);
                        let bytes = taken.and_then(|(kept, bytes)| {
                            if kept {
                                std::fs::rename(&staging, tmp_out).map_err(|e| {
                                    failed(format!("keeping what init left in /tmp: {e}"))
                                })?;
                            }
                            Ok(bytes)
                        });
                        let _ = std::fs::remove_dir_all(&staging);
                        bytes
                    })
                })
                .join()
                .unwrap_or_else(|_| Err(failed("the snapshot thread panicked".into())))
        });
        drop(function);
        bytes
    }
}

/// What a snapshot depends on: the component, what its `init` can observe
/// of the configuration, and the engine that reads it.
fn snapshot_key(host: &Host, digest: &[u8; 32], config: &FunctionConfig) -> String {
    let mut hash = ShaHasher(Sha256::new());
    hash.write(b"wasmfn-snapshot-1");
    hash.write(digest);
    host.engine()
        .precompile_compatibility_hash()
        .hash(&mut hash);
    crate::function::config::lambda_environment(config).hash(&mut hash);
    (
        config.memory_mb,
        config.tmp_mb,
        &config.region,
        &config.account_id,
    )
        .hash(&mut hash);
    format!("{:?}", config.allowed_outbound).hash(&mut hash);
    for grant in &config.key_value_stores {
        format!("{grant:?}").hash(&mut hash);
    }
    for layer in &config.layers {
        fingerprint_tree(&mut hash, layer);
    }
    if let Some(task) = &config.task_root {
        fingerprint_tree(&mut hash, task);
    }
    hex(&hash.0.finalize()[..16])
}

/// Feeds a directory tree's names, sizes and modification times into
/// `hash`: a changed, added or removed file changes the key.
fn fingerprint_tree(hash: &mut ShaHasher, root: &Path) {
    root.hash(hash);
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for entry in entries {
            let Ok(meta) = std::fs::symlink_metadata(&entry) else {
                continue;
            };
            entry.hash(hash);
            if meta.is_dir() {
                stack.push(entry);
            } else if meta.is_symlink() {
                std::fs::read_link(&entry).ok().hash(hash);
                if let Ok(target) = std::fs::metadata(&entry) {
                    (target.len(), target.modified().ok()).hash(hash);
                }
            } else {
                (meta.len(), meta.modified().ok()).hash(hash);
            }
        }
    }
}
