//! Where a function's code comes from: its `handler:` read as a `.wasm`
//! component, a guest crate, a Node.js module's export or a Python
//! module's function, by the function's (or the provider's) `runtime`.

use std::path::PathBuf;

use super::{FunctionSpec, Manifest, ManifestError};

/// Where a function's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerSource {
    /// A ready `.wasm` component.
    Wasm(PathBuf),
    /// A guest crate directory, built on demand.
    Crate(PathBuf),
    /// A Node.js module's export, built on demand.
    Node(NodeHandler),
    /// A Python module's function, imported from its directory at init.
    Python(PythonHandler),
}

/// A Python handler: the directory mounted at `/var/task` (the manifest's)
/// and the module's file there; the function after the dot reaches the
/// guest as `_HANDLER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonHandler {
    /// The code directory, e.g. the manifest's directory.
    pub task_root: PathBuf,
    /// The module's file (or package directory), e.g. `…/app.py`.
    pub module: PathBuf,
}

/// A Node.js handler's module: the file before the dot of its `handler:`
/// (the export after the dot reaches the guest as `_HANDLER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHandler {
    /// The module, e.g. `…/hello-world.js`.
    pub entry: PathBuf,
    /// Where `require` also looks: each layer's `nodejs/node_modules`
    /// (Lambda's `/opt/nodejs/node_modules`).
    pub node_paths: Vec<PathBuf>,
}

/// The extensions Lambda's Node.js runtime tries for a handler's module.
const NODE_EXTENSIONS: [&str; 3] = ["js", "mjs", "cjs"];

impl Manifest {
    /// Where function `name`'s component comes from.
    pub fn handler(&self, name: &str) -> Result<HandlerSource, ManifestError> {
        let spec = self.function(name)?;
        let path = self.base_dir().join(&spec.handler);
        if spec.handler.ends_with(".wasm") {
            return Ok(HandlerSource::Wasm(path));
        }
        let runtime = spec.runtime.as_ref().or(self.provider.runtime.as_ref());
        if runtime.is_some_and(|r| r.starts_with("python")) {
            return self.python_handler(name, spec).map(HandlerSource::Python);
        }
        let node = runtime.is_some_and(|r| r.starts_with("nodejs"));
        if node || (runtime.is_none() && !path.is_dir()) {
            if let Some(handler) = self.node_handler(name, spec, node)? {
                return Ok(HandlerSource::Node(handler));
            }
        }
        Ok(HandlerSource::Crate(path))
    }

    /// `file.export` as a Node.js module and export. `Ok(None)` when no
    /// module of that name exists and the runtime does not say Node (the
    /// handler may be a crate); with a `nodejs*` runtime (`node`) that is an
    /// error.
    fn node_handler(
        &self,
        name: &str,
        spec: &FunctionSpec,
        node: bool,
    ) -> Result<Option<NodeHandler>, ManifestError> {
        let fail = |message: String| ManifestError::Parse {
            path: self.path.clone(),
            line: 1,
            column: 1,
            message: format!("functions.{name}.handler: {message}"),
        };
        let Some((module, _export)) = spec.handler.rsplit_once('.') else {
            return if node {
                Err(fail(format!(
                    "`{}` is not `file.export`; a Node.js handler names its module and export, e.g. `index.handler`",
                    spec.handler
                )))
            } else {
                Ok(None)
            };
        };
        let base = self.base_dir().join(module);
        let entry = NODE_EXTENSIONS
            .iter()
            .map(|ext| base.with_extension(ext))
            .find(|candidate| candidate.is_file());
        let Some(entry) = entry else {
            return if node {
                Err(fail(format!(
                    "`{}` names the module `{module}`, but none of {module}.js, {module}.mjs, {module}.cjs exists next to the manifest",
                    spec.handler
                )))
            } else {
                Ok(None)
            };
        };
        let entry = std::fs::canonicalize(&entry).unwrap_or(entry);
        let node_paths = spec
            .layers
            .iter()
            .map(|layer| self.base_dir().join(layer).join("nodejs/node_modules"))
            .filter(|dir| dir.is_dir())
            .collect();
        Ok(Some(NodeHandler { entry, node_paths }))
    }

    /// `module.function` as a Python module in the manifest's directory
    /// (`pkg/app.handler` and `pkg.app.handler` both name `pkg/app.py`, as
    /// in AWS's runtime).
    fn python_handler(
        &self,
        name: &str,
        spec: &FunctionSpec,
    ) -> Result<PythonHandler, ManifestError> {
        let fail = |message: String| ManifestError::Parse {
            path: self.path.clone(),
            line: 1,
            column: 1,
            message: format!("functions.{name}.handler: {message}"),
        };
        let Some((module, _function)) = spec.handler.rsplit_once('.') else {
            return Err(fail(format!(
                "`{}` is not `module.function`; a Python handler names its module and function, e.g. `app.handler`",
                spec.handler
            )));
        };
        let task_root = self.base_dir();
        let base = task_root.join(module.replace('.', "/"));
        let module_path = [base.with_extension("py"), base.clone()]
            .into_iter()
            .find(|candidate| candidate.is_file() || candidate.join("__init__.py").is_file())
            .ok_or_else(|| {
                fail(format!(
                    "`{}` names the module `{module}`, but there is no {}.py next to the manifest",
                    spec.handler,
                    module.replace('.', "/")
                ))
            })?;
        Ok(PythonHandler {
            task_root: std::fs::canonicalize(&task_root).unwrap_or(task_root),
            module: module_path,
        })
    }
}
