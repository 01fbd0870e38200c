//! A build without the `compiler` feature: what it says wherever the
//! default build would compile.
//!
//! Such a build is the Lambda bootstrap, which only maps the artifacts its
//! package ships. Every path that would have compiled (a component with no
//! fitting artifact, a SnapStart snapshot not shipped, packaging) fails
//! with [`LoadError::NoCompiler`], which names the component and the fix.

use std::path::Path;

use wasmtime::component::Component;

use super::host::{Host, LoadObserver};
use super::wasm_file::WasmFile;
use crate::error::LoadError;
use crate::function::{FunctionConfig, LoadStats};

impl Host {
    fn no_compiler(&self, path: &Path, what: &'static str) -> LoadError {
        LoadError::NoCompiler {
            path: path.to_owned(),
            dir: self.cache().dir().to_owned(),
            what,
        }
    }

    /// Would compile `wasm` for a package.
    pub fn precompile(&self, path: &Path, _wasm: &[u8]) -> Result<(String, Vec<u8>), LoadError> {
        Err(self.no_compiler(path, "precompile for a package"))
    }

    /// Would compile `wasm` into the cache.
    pub(super) fn compile(
        &self,
        wasm: &mut WasmFile,
        _observer: &dyn LoadObserver,
    ) -> Result<(Component, LoadStats), LoadError> {
        Err(self.no_compiler(wasm.path(), "compile"))
    }

    /// Would take the snapshot of `wasm`'s `init`.
    pub(super) fn snapshot_of(
        &self,
        wasm: &mut WasmFile,
        _config: &FunctionConfig,
        _observer: &dyn LoadObserver,
    ) -> Result<WasmFile, LoadError> {
        Err(self.no_compiler(wasm.path(), "take the SnapStart snapshot of"))
    }
}
