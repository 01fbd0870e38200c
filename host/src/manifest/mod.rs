//! The function manifest: the shape of the Serverless Framework's
//! `serverless.yml`, so that a Lambda user's existing file needs only its
//! `handler:` lines changed.
//!
//! ```yaml
//! service: my-service
//! provider:
//!   memorySize: 128        # MB, default for every function
//!   timeout: 3             # seconds
//!   environment: { STAGE: dev }
//! functions:
//!   hello:
//!     handler: functions/hello          # a guest crate to build, or a .wasm
//!     timeout: 6
//!     events:
//!       - httpApi: { path: /hello, method: get }
//! ```
//!
//! Keys wasmfn does not know are reported as warnings rather than silently
//! dropped; a malformed file is an error naming its line and column. The
//! Framework's variables (`${opt:stage, 'dev'}`, `${self:...}`,
//! `${env:...}`) are resolved first ([`variables`]).

mod handler;
mod invoke_modes;
mod logs;
pub mod variables;

pub use handler::{HandlerSource, NodeHandler, PythonHandler};
pub use invoke_modes::{TenancySpec, UrlSpec};
use logs::{LogsSpec, ProviderLogs};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::capability::http::AllowList;
use crate::capability::kv::dynamodb::TableSpec;
use crate::capability::kv::StoreBackend;
use crate::capability::kv::StoreGrant;
use crate::function::pool::Policy;
use crate::function::FunctionConfig;

/// The default manifest file name.
pub const DEFAULT_MANIFEST: &str = "serverless.yml";

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest `{path}`: {reason}")]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        reason: std::io::Error,
    },
    /// The YAML is malformed or has the wrong shape.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The manifest path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A `${...}` variable that cannot be resolved.
    #[error("{path}: {reason}")]
    Variable {
        /// The manifest path.
        path: PathBuf,
        /// Which variable, where, and why.
        reason: variables::VariableError,
    },
    /// A layer that is not a directory.
    #[error("{path}: function `{function}`: layer `{layer}` is not a directory. A layer here is a directory (relative to the manifest) whose files appear read-only under /opt")]
    BadLayer {
        /// The manifest path.
        path: PathBuf,
        /// The function.
        function: String,
        /// The layer as written.
        layer: String,
    },
    /// A function granted a store the manifest does not define.
    #[error("{path}: function `{function}` is granted key-value store `{store}`, which `stores:` does not define. Add `{store}: {{}}` under `stores:`")]
    UnknownStore {
        /// The manifest path.
        path: PathBuf,
        /// The function.
        function: String,
        /// The store.
        store: String,
    },
    /// A store setting that its backend does not read.
    #[error("{path}: store `{store}` sets `{field}`, which only a `backend: {reader}` store reads, but its backend is `{backend}`. Set `backend: {reader}`, or remove `{field}`")]
    StoreField {
        /// The manifest path.
        path: PathBuf,
        /// The store.
        store: String,
        /// The setting.
        field: &'static str,
        /// The store's backend.
        backend: &'static str,
        /// The backend that reads the setting.
        reader: &'static str,
    },
    /// A function setting outside what Lambda accepts.
    #[error("{path}: functions.{function}.{key}: {message}")]
    Setting {
        /// The manifest path.
        path: PathBuf,
        /// The function.
        function: String,
        /// The setting, e.g. `logs` or `tenancyConfig`.
        key: &'static str,
        /// What is wrong, and the fix.
        message: String,
    },
    /// A function name that the manifest does not define.
    #[error("unknown function `{name}`: {path} defines {known}. Check the name, or add it under `functions:`")]
    UnknownFunction {
        /// The name asked for.
        name: String,
        /// The manifest path.
        path: PathBuf,
        /// The names it does define.
        known: String,
    },
}

/// A scalar YAML value used as an environment variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::String(s) => s,
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// `provider:`: defaults for every function.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    /// Always `aws` in a Serverless file; accepted and ignored.
    pub name: Option<String>,
    /// The Lambda runtime of every function (e.g. `nodejs20.x`,
    /// `provided.al2023`): `nodejs*` makes handlers JavaScript modules.
    pub runtime: Option<String>,
    /// The stage, e.g. `dev`.
    pub stage: Option<String>,
    /// The region reported in ARNs.
    pub region: Option<String>,
    /// Default memory size in MB.
    pub memory_size: Option<u32>,
    /// Default timeout in seconds.
    pub timeout: Option<f64>,
    /// Environment for every function.
    #[serde(default)]
    environment: BTreeMap<String, Scalar>,
    /// `logs.lambda`: every function's logging controls.
    #[serde(default)]
    logs: ProviderLogs,
}

/// `functions.<name>:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    /// A `.wasm` component, a guest crate directory to build, or (with a
    /// `nodejs*` runtime) a module and its export, `file.export`; relative
    /// to the manifest's directory.
    pub handler: String,
    /// The Lambda runtime, over the provider's: `nodejs*` makes `handler`
    /// a JavaScript module's export.
    pub runtime: Option<String>,
    /// A description; accepted and ignored.
    pub description: Option<String>,
    /// Memory size in MB.
    pub memory_size: Option<u32>,
    /// Timeout in seconds.
    pub timeout: Option<f64>,
    /// Environment variables, over the provider's.
    #[serde(default)]
    environment: BTreeMap<String, Scalar>,
    /// Reserved concurrency: the most invocations in flight at once.
    pub reserved_concurrency: Option<u32>,
    /// Provisioned concurrency: instances kept initialized and ready
    /// (wasmfn's pre-warmed spares).
    pub provisioned_concurrency: Option<u32>,
    /// How instances are pooled (wasmfn's own key).
    #[serde(default)]
    pub pool: PoolSpec,
    /// Where async invocation outcomes go.
    #[serde(default)]
    pub destinations: Destinations,
    /// Event sources (`http`, `httpApi`, `schedule`).
    #[serde(default)]
    pub events: Vec<serde_yaml_ng::Value>,
    /// The origins the function may call over HTTP (wasmfn's own key, as
    /// in Spin): `https://*.amazonaws.com`, `http://127.0.0.1:5000`.
    #[serde(default)]
    pub allowed_outbound_hosts: AllowList,
    /// Layers: directories, relative to the manifest, merged read-only at
    /// `/opt`.
    #[serde(default)]
    pub layers: Vec<String>,
    /// The cap of each instance's `/tmp`, in MB (Lambda's ephemeral
    /// storage; 512 by default).
    pub ephemeral_storage_size: Option<u32>,
    /// The stores (from `stores:`) the function may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// SnapStart: instances start from a snapshot taken after `init`
    /// (the Serverless Framework's `snapStart: true`).
    #[serde(default)]
    pub snap_start: bool,
    /// Logging controls, over the provider's `logs.lambda`.
    #[serde(default)]
    logs: LogsSpec,
    /// The function's URL: `true`, or its settings (`invokeMode`).
    #[serde(default)]
    pub url: Option<UrlSpec>,
    /// Tenant isolation (`tenantIsolationMode: PER_TENANT`).
    #[serde(default)]
    pub tenancy_config: Option<TenancySpec>,
}

/// `functions.<name>.destinations:`: Lambda's on-success and on-failure
/// destinations of async invocations. Locally each is a JSON-lines file
/// (relative to the manifest); by default `<state dir>/queue/destinations/
/// <function>.success.jsonl` and `.failure.jsonl`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destinations {
    /// Where success records are appended.
    pub on_success: Option<String>,
    /// Where records of events that failed every retry are appended.
    pub on_failure: Option<String>,
}

/// `functions.<name>.pool:`, wasmfn's pooling settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    /// `reuse` (the default, Lambda's semantics) or `fresh`.
    pub policy: Option<Policy>,
    /// Retire a warm instance after this many invocations.
    pub max_invocations: Option<u64>,
    /// Retire a warm instance idle this many seconds.
    pub idle_timeout: Option<f64>,
}

/// `stores.<name>:`, a key-value store functions can be granted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreSpec {
    /// `embedded` (the default) or `dynamodb`.
    #[serde(default)]
    pub backend: StoreKind,
    /// The embedded store's file, relative to the manifest (default
    /// `<state dir>/stores/<name>.redb`, the state dir being `.wasmfn` next
    /// to the manifest or `wasmfn serve --state-dir`).
    pub path: Option<String>,
    /// The DynamoDB table (default: the store's name).
    pub table: Option<String>,
    /// The DynamoDB endpoint (default: the region's).
    pub endpoint: Option<String>,
    /// The DynamoDB region (default: `AWS_REGION`).
    pub region: Option<String>,
}

/// `stores.<name>.backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// A redb file on local disk.
    #[default]
    Embedded,
    /// A DynamoDB table.
    Dynamodb,
}

/// A parsed manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The service name.
    pub service: String,
    /// Provider-wide defaults.
    #[serde(default)]
    pub provider: Provider,
    /// The functions, by name.
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionSpec>,
    /// Key-value stores, by name (wasmfn's own section).
    #[serde(default)]
    pub stores: BTreeMap<String, StoreSpec>,
    /// Serverless plugins; accepted and ignored.
    #[serde(default)]
    pub plugins: Vec<String>,
    /// Serverless `custom:` section; accepted and ignored.
    #[serde(default)]
    pub custom: Option<serde_yaml_ng::Value>,
    /// Set after parsing: the manifest's own path.
    #[serde(skip)]
    path: PathBuf,
    /// Where local state lives (embedded stores); `.wasmfn` next to the
    /// manifest unless set (`wasmfn serve --state-dir`).
    #[serde(skip)]
    state_dir: Option<PathBuf>,
}

impl Manifest {
    /// Reads and parses `path`. Returns the manifest and a warning for every
    /// key it ignored.
    pub fn load(path: &Path) -> Result<(Manifest, Vec<String>), ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|reason| ManifestError::Read {
            path: path.to_owned(),
            reason,
        })?;
        Self::parse(path, &text)
    }

    /// Parses manifest text; `path` is used for messages and to resolve
    /// relative handlers.
    pub fn parse(path: &Path, text: &str) -> Result<(Manifest, Vec<String>), ManifestError> {
        let mut ignored = Vec::new();
        let located = |e: serde_yaml_ng::Error| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            ManifestError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.to_string(),
            }
        };
        let mut manifest = if variables::has_variables(text) {
            // Resolved on the document, then read from it: a shape error
            // names the key instead of a line.
            let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(located)?;
            variables::resolve(&mut doc).map_err(|reason| ManifestError::Variable {
                path: path.to_owned(),
                reason,
            })?;
            let result: Result<Manifest, _> = serde_ignored::deserialize(doc, |key| {
                ignored.push(key.to_string());
            });
            result.map_err(|e| ManifestError::Parse {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: format!("after resolving its variables: {e}"),
            })?
        } else {
            let deserializer = serde_yaml_ng::Deserializer::from_str(text);
            let result: Result<Manifest, _> = serde_ignored::deserialize(deserializer, |key| {
                ignored.push(key.to_string());
            });
            result.map_err(located)?
        };
        manifest.path = path.to_owned();
        manifest.check_stores()?;
        let warnings = ignored
            .into_iter()
            .map(|key| format!("{}: unknown key `{key}` is ignored", path.display()))
            .collect();
        Ok((manifest, warnings))
    }

    /// Refuses a store setting its backend would ignore: a `table:` on an
    /// embedded store most likely means a forgotten `backend: dynamodb`,
    /// and the data would silently land in a local file instead.
    fn check_stores(&self) -> Result<(), ManifestError> {
        for (name, spec) in &self.stores {
            // (the setting, the store's backend, the backend that reads it)
            let stray = match spec.backend {
                StoreKind::Embedded => [
                    ("table", &spec.table),
                    ("endpoint", &spec.endpoint),
                    ("region", &spec.region),
                ]
                .into_iter()
                .find(|(_, value)| value.is_some())
                .map(|(field, _)| (field, "embedded", "dynamodb")),
                StoreKind::Dynamodb => spec.path.as_ref().map(|_| ("path", "dynamodb", "embedded")),
            };
            if let Some((field, backend, reader)) = stray {
                return Err(ManifestError::StoreField {
                    path: self.path.clone(),
                    store: name.clone(),
                    field,
                    backend,
                    reader,
                });
            }
        }
        Ok(())
    }

    /// Puts local state (embedded key-value stores) under `dir`.
    pub fn set_state_dir(&mut self, dir: &Path) {
        self.state_dir = Some(dir.to_owned());
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| self.base_dir().join(".wasmfn"))
    }

    /// The manifest's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory relative handlers are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// The spec of function `name`, or an error listing the known names.
    pub fn function(&self, name: &str) -> Result<&FunctionSpec, ManifestError> {
        self.functions
            .get(name)
            .ok_or_else(|| ManifestError::UnknownFunction {
                name: name.to_string(),
                path: self.path.clone(),
                known: if self.functions.is_empty() {
                    "no functions".to_string()
                } else {
                    self.functions
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
    }

    /// The destination files of function `name` (`None` for the default).
    /// An ARN cannot be written to locally, so it is refused with the fix.
    pub fn destination_files(
        &self,
        name: &str,
    ) -> Result<(Option<PathBuf>, Option<PathBuf>), ManifestError> {
        let spec = self.function(name)?;
        let file = |target: &Option<String>| -> Result<Option<PathBuf>, ManifestError> {
            match target {
                None => Ok(None),
                Some(t) if t.starts_with("arn:") => Err(ManifestError::Parse {
                    path: self.path.clone(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "functions.{name}.destinations: `{t}` is an ARN; locally a destination is a JSON-lines file path"
                    ),
                }),
                Some(t) => Ok(Some(self.base_dir().join(t))),
            }
        };
        Ok((
            file(&spec.destinations.on_success)?,
            file(&spec.destinations.on_failure)?,
        ))
    }

    /// The run-time configuration of function `name`: its own settings over
    /// the provider's, over Lambda's defaults.
    pub fn function_config(&self, name: &str) -> Result<FunctionConfig, ManifestError> {
        let spec = self.function(name)?;
        let mut config = FunctionConfig::new(name);
        if let Some(mb) = spec.memory_size.or(self.provider.memory_size) {
            config.memory_mb = mb;
        }
        if let Some(secs) = spec.timeout.or(self.provider.timeout) {
            config.timeout = Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO);
        }
        if let Some(region) = &self.provider.region {
            config.region = region.clone();
        }
        let mut env: BTreeMap<String, String> = self
            .provider
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_string()))
            .collect();
        env.extend(
            spec.environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into_string())),
        );
        config.environment = env.into_iter().collect();
        config.handler = Some(spec.handler.clone());
        config.snap_start = spec.snap_start;
        let setting = |key, message| ManifestError::Setting {
            path: self.path.clone(),
            function: name.to_string(),
            key,
            message,
        };
        config.logging = logs::logging(&spec.logs, &self.provider.logs.lambda)
            .map_err(|m| setting("logs", m))?;
        config.url_streams = spec
            .url
            .as_ref()
            .map(UrlSpec::streams)
            .transpose()
            .map_err(|m| setting("url", m))?
            .unwrap_or(false);
        config.tenant_isolation = spec
            .tenancy_config
            .as_ref()
            .map(TenancySpec::isolates)
            .transpose()
            .map_err(|m| setting("tenancyConfig", m))?
            .unwrap_or(false);
        if config.tenant_isolation {
            invoke_modes::check_tenancy(spec).map_err(|m| setting("tenancyConfig", m))?;
        }
        if let Some(policy) = spec.pool.policy {
            config.pool.policy = policy;
        }
        if let Some(max) = spec.pool.max_invocations {
            config.pool.max_invocations = Some(max);
        }
        if let Some(secs) = spec.pool.idle_timeout {
            config.pool.idle_timeout = Duration::try_from_secs_f64(secs).ok();
        }
        config.pool.spares = spec.provisioned_concurrency.unwrap_or(0) as usize;
        config.pool.reserved_concurrency = spec.reserved_concurrency;
        config.allowed_outbound = Arc::new(spec.allowed_outbound_hosts.clone());
        if let Some(mb) = spec.ephemeral_storage_size {
            config.tmp_mb = mb;
        }
        for layer in &spec.layers {
            let dir = self.base_dir().join(layer);
            if !dir.is_dir() {
                return Err(ManifestError::BadLayer {
                    path: self.path.clone(),
                    function: name.to_string(),
                    layer: layer.clone(),
                });
            }
            config.layers.push(dir);
        }
        for store in &spec.key_value_stores {
            let Some(store_spec) = self.stores.get(store) else {
                return Err(ManifestError::UnknownStore {
                    path: self.path.clone(),
                    function: name.to_string(),
                    store: store.clone(),
                });
            };
            let backend = match store_spec.backend {
                StoreKind::Embedded => StoreBackend::Embedded {
                    path: match &store_spec.path {
                        Some(p) => self.base_dir().join(p),
                        None => self
                            .state_dir()
                            .join("stores")
                            .join(format!("{store}.redb")),
                    },
                },
                StoreKind::Dynamodb => StoreBackend::DynamoDb(TableSpec {
                    table: store_spec.table.clone().unwrap_or_else(|| store.clone()),
                    endpoint: store_spec.endpoint.clone(),
                    region: store_spec.region.clone(),
                }),
            };
            config.key_value_stores.push(StoreGrant {
                name: store.clone(),
                backend,
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
service: demo
provider:
  name: aws
  memorySize: 256
  timeout: 5
  environment:
    STAGE: dev
    RETRIES: 3
functions:
  hello:
    handler: functions/hello
    timeout: 1
    environment:
      STAGE: prod
    colour: blue
  api:
    handler: build/api.wasm
    reservedConcurrency: 4
    provisionedConcurrency: 2
    pool:
      policy: fresh
      maxInvocations: 100
      idleTimeout: 60
";

    #[test]
    fn variables_are_resolved_before_the_manifest_is_read() {
        let yaml = "service: users\nprovider:\n  name: aws\n  stage: ${opt:stage, 'dev'}\n  memorySize: ${self:custom.memory}\n  environment:\n    USERS_TABLE: ${self:service}-${self:provider.stage}\ncustom:\n  memory: 512\nfunctions:\n  hello:\n    handler: functions/hello\n";
        let (m, _) = Manifest::parse(Path::new("serverless.yml"), yaml).unwrap();
        let hello = m.function_config("hello").unwrap();
        assert_eq!(hello.memory_mb, 512);
        assert!(hello
            .environment
            .contains(&("USERS_TABLE".to_string(), "users-dev".to_string())));
        let err = Manifest::parse(
            Path::new("serverless.yml"),
            "service: s\nprovider:\n  environment:\n    DB: ${ssm:/db}\nfunctions: {}\n",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("${ssm:/db}"), "{message}");
        assert!(message.contains("provider.environment.DB"), "{message}");
    }

    #[test]
    fn function_settings_override_the_provider() {
        let (m, warnings) = Manifest::parse(Path::new("dir/serverless.yml"), YAML).unwrap();
        let hello = m.function_config("hello").unwrap();
        assert_eq!(hello.memory_mb, 256);
        assert_eq!(hello.timeout, Duration::from_secs(1));
        assert!(hello
            .environment
            .contains(&("STAGE".to_string(), "prod".to_string())));
        assert!(hello
            .environment
            .contains(&("RETRIES".to_string(), "3".to_string())));
        assert_eq!(
            m.handler("hello").unwrap(),
            HandlerSource::Crate(PathBuf::from("dir/functions/hello"))
        );
        assert_eq!(
            m.handler("api").unwrap(),
            HandlerSource::Wasm(PathBuf::from("dir/build/api.wasm"))
        );
        let api = m.function_config("api").unwrap();
        assert_eq!(api.pool.policy, Policy::Fresh);
        assert_eq!(api.pool.max_invocations, Some(100));
        assert_eq!(api.pool.idle_timeout, Some(Duration::from_secs(60)));
        assert_eq!(api.pool.spares, 2);
        assert_eq!(api.pool.reserved_concurrency, Some(4));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("functions.hello.colour"),
            "{warnings:?}"
        );
    }

    #[test]
    fn malformed_yaml_names_line_and_column() {
        let err = Manifest::parse(Path::new("s.yml"), "service: x\nfunctions:\n  a: [\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.yml:"), "{err}");
        let err = Manifest::parse(
            Path::new("s.yml"),
            "service: x\nfunctions:\n  a:\n    timeout: 3\n",
        )
        .unwrap_err();
        match err {
            ManifestError::Parse { line, message, .. } => {
                assert_eq!(line, 4, "{message}");
                assert!(message.contains("handler"), "{message}");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn unknown_function_lists_the_known_ones() {
        let (m, _) = Manifest::parse(Path::new("s.yml"), YAML).unwrap();
        let err = m.function("nope").unwrap_err().to_string();
        assert!(
            err.contains("`nope`") && err.contains("`hello`") && err.contains("`api`"),
            "{err}"
        );
    }

    #[test]
    fn a_store_setting_its_backend_ignores_is_an_error() {
        let manifest = |store: &str| {
            format!("service: s\nstores:\n  users: {store}\nfunctions:\n  f:\n    handler: f\n")
        };
        let err = Manifest::parse(Path::new("m.yml"), &manifest("{table: users-prod}"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "m.yml: store `users` sets `table`, which only a `backend: dynamodb` store reads, \
             but its backend is `embedded`. Set `backend: dynamodb`, or remove `table`"
        );
        let err = Manifest::parse(
            Path::new("m.yml"),
            &manifest("{backend: dynamodb, path: users.redb}"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sets `path`, which only a `backend: embedded` store reads"),
            "{err}"
        );
        for ok in [
            "{}",
            "{path: users.redb}",
            "{backend: dynamodb, table: t, endpoint: 'http://127.0.0.1:8000', region: eu-west-1}",
        ] {
            Manifest::parse(Path::new("m.yml"), &manifest(ok)).unwrap();
        }
    }

    #[test]
    fn a_bad_allowed_host_is_an_error_at_its_line() {
        let text = "service: s\nfunctions:\n  f:\n    handler: f\n    allowedOutboundHosts:\n      - example.com\n";
        let err = Manifest::parse(Path::new("m.yml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.yml:4:"), "{err}");
        assert!(
            err.contains("`example.com` is not an allowed host"),
            "{err}"
        );
        let ok = "service: s\nfunctions:\n  f:\n    handler: f\n    allowedOutboundHosts: ['http://127.0.0.1:*']\n";
        let (manifest, _) = Manifest::parse(Path::new("m.yml"), ok).unwrap();
        let config = manifest.function_config("f").unwrap();
        assert!(config
            .allowed_outbound
            .permits(&"http://127.0.0.1:9/".parse().unwrap()));
    }
}
