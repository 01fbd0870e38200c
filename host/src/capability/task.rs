//! `wasmfn:js-handler/task`: what the JavaScript engine reads of its
//! function at every init, one host call each: the bundle and the
//! environment.
//!
//! Through WASI the same reads take the engine's generated bindings a walk
//! of the preopens, an `open-at`, a read loop and a list of pairs, each step
//! lifted and lowered by JavaScript in its interpreter: measured on a cold
//! start of `functions/node` `hello`, more than half of init. Here each is
//! one string. The code directory stays mounted at `/var/task` for the
//! function's own reads.

use wasmtime::component::Linker;
use wasmtime::StoreContextMut;

use super::env::InstanceEnv;
use super::files::InstanceFiles;

/// The interface's name, as js/wit/js-handler.wit declares it.
const INTERFACE: &str = "wasmfn:js-handler/task@0.1.0";

/// The bundle's file in the code directory, as the JavaScript build writes it.
const BUNDLE: &str = "index.js";

/// What the interface reads: the instance's files and environment.
pub struct TaskView<'a> {
    pub files: &'a InstanceFiles,
    pub env: &'a InstanceEnv,
}

/// Links `bundle` and `environment`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> TaskView<'_>,
) -> wasmtime::Result<()> {
    let mut task = linker.instance(INTERFACE)?;
    task.func_wrap("bundle", move |mut store: StoreContextMut<'_, T>, ()| {
        let text = view(store.data_mut()).files.read_code(BUNDLE);
        Ok((text.map_err(|e| format!("reading /var/task/{BUNDLE}: {e}")),))
    })?;
    task.func_wrap(
        "environment",
        move |mut store: StoreContextMut<'_, T>, ()| Ok((view(store.data_mut()).env.to_json(),)),
    )?;
    Ok(())
}
