//! What every instance of one function is made from, built once per
//! function: the compiled component ready to instantiate, where its exports
//! are, and what each instance's state starts with. An instance is made from
//! its template alone and never reaches back into the function that owns it.

use std::sync::{Arc, OnceLock};

use wasmtime::component::{ComponentExportIndex, InstancePre};
use wasmtime::Engine;

use super::log_stream::log_stream_name;
use super::logs::LogBuffer;
use super::state::InstanceState;
use crate::bindings::Abi;
use crate::capability::env::InstanceEnv;
use crate::capability::files::{FunctionFiles, InstanceFiles};
use crate::capability::http::OutboundHooks;
use crate::capability::kv::Grants;

/// Where `handle`, `handle-stream` and `init` live in the component.
#[derive(Debug)]
pub struct Exports {
    pub(super) handle: ComponentExportIndex,
    pub(super) handle_stream: Option<ComponentExportIndex>,
    pub(super) init: Option<ComponentExportIndex>,
    /// The ABI version the export signatures are of, once checked (on the
    /// first instance).
    pub(super) abi: OnceLock<Abi>,
}

impl Exports {
    /// The exports at these indices, not yet type-checked.
    pub fn new(
        handle: ComponentExportIndex,
        handle_stream: Option<ComponentExportIndex>,
        init: Option<ComponentExportIndex>,
    ) -> Self {
        Exports {
            handle,
            handle_stream,
            init,
            abi: OnceLock::new(),
        }
    }
}

/// Everything an instance of one function is made from.
pub struct Template {
    /// The engine the component was compiled for.
    pub engine: Engine,
    /// The component, linked and ready to instantiate.
    pub pre: InstancePre<InstanceState>,
    /// Where its exports are.
    pub exports: Exports,
    /// Lambda's variables and the function's own, shared by its instances.
    pub environment: Arc<[(String, String)]>,
    /// Instance `/tmp`s and the `/opt` layers.
    pub files: Arc<FunctionFiles>,
    /// The key-value stores its instances may open.
    pub kv: Arc<Grants>,
    /// The hooks that police its outbound HTTP, cloned into each instance.
    pub outbound: OutboundHooks,
    /// Its memory cap, in MB.
    pub memory_mb: u32,
    /// Its version, part of each instance's log stream name.
    pub version: String,
}

impl Template {
    /// The state of a new instance, whose output goes to `logs`.
    pub(super) fn state(&self, logs: &LogBuffer) -> InstanceState {
        InstanceState::new(
            logs,
            InstanceEnv::new(self.environment.clone(), log_stream_name(&self.version)),
            // The only host directories a guest can reach (see `files`).
            InstanceFiles::new(self.files.clone()),
            self.outbound.clone(),
            self.kv.clone(),
            self.memory_mb,
        )
    }
}
