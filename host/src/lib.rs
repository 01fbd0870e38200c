//! wasmfn runs AWS-Lambda-style handlers as WebAssembly components.
//!
//! Every invocation, whatever its trigger, follows one path:
//!
//! ```text
//! trigger ──► Funnel::invoke ──► Function::invoke ──► pool ──► Instance ──► guest `handle`
//! (CLI, Invoke API,  (metrics,     (one per          (warm     (Store, WASI,  (wit/handler.wit)
//!  API Gateway,       START/END/    function)         reuse)    limits, logs)
//!  queue, schedules,  REPORT)
//!  Lambda runtime)
//! ```
//!
//! The modules are layers; each imports only the layers below it:
//!
//! ```text
//! tooling      sample events, templates, guest builds (Rust crates; the JavaScript and
//!              Python engines and bundles), fuzz entry points
//! trigger      server, Invoke API (buffered and streamed), API Gateway, Lambda mode,
//!              queue, schedules, metrics, and the one invocation funnel every trigger calls
//! manifest     serverless.yml (its ${...} variables resolved) → FunctionConfig, and
//!              where each function's code comes from
//! engine       wasmtime Config, pooling probe, epoch ticker, artifact cache;
//!              Host: the linker and Host::load
//! function     Function, its configuration, its pool of instances (one per tenant
//!              under tenant isolation)
//! instance     one instance: Store, InstanceState (which implements every capability's
//!              view), limits, logs, error classification
//! bindings     bindgen! of wit/handler.wit
//! capability   kv, http, files, env: WASI interfaces generic over the embedder's state
//! error, report, aws   Lambda's shapes: error bodies, START/END/REPORT, names
//! ```
//!
//! * [`Host`] owns the engine (pooling allocator, epoch ticker), the linker
//!   and the on-disk [`ArtifactCache`] of precompiled components.
//! * JavaScript and Python functions run on one engine component per
//!   language ([`JsBuilder`], [`PyBuilder`]); a function's own code is a
//!   directory mounted at `/var/task` ([`FunctionConfig::task_root`]).
//! * [`Host::load`] turns a `.wasm` component into a [`Function`]: its
//!   artifact is compiled at most once per engine configuration, and its
//!   `InstancePre` is built once, into the template every instance is made
//!   from.
//! * [`Function::invoke`] takes a warm instance or makes one (running the
//!   guest's `init`, reported as `Init Duration`), runs the event through the
//!   guest's `handle` under the function's timeout and memory cap, and
//!   returns the response or a Lambda-shaped [`FunctionError`], with the
//!   guest's logs and the figures of Lambda's REPORT line.
//! * [`trigger::funnel::Funnel::invoke`] is how every trigger calls it: it
//!   counts the invocation in the metrics and writes its log, once.
//!
//! A guest cannot take the host down: traps, timeouts, memory exhaustion,
//! panics and `exit` all come back as errors, and the instance they happened
//! in is thrown away.
//!
//! The `compiler` feature (on by default) is Cranelift and everything that
//! compiles: first-use compiles, SnapStart snapshots, `wasmfn package`.
//! Without it the crate only maps precompiled artifacts, which is all a
//! packaged Lambda bootstrap does, and [`LoadError::NoCompiler`] says so
//! wherever it would have compiled.

pub mod aws;
pub mod bindings;
pub mod capability;
pub mod engine;
pub mod error;
pub mod function;
pub mod instance;
pub mod manifest;
pub mod report;
pub mod tooling;
pub mod trigger;

pub use capability::kv::StoreGrant;
pub use engine::cache::ArtifactCache;
pub use engine::host::{Host, HostOptions};
pub use engine::{Allocator, EngineOptions, PoolingMode};
pub use error::{FunctionError, LoadError, Refused, TenantError, Throttled};
pub use function::pool::{Policy, PoolConfig, PoolStats, Start};
pub use function::{
    ArtifactSource, Function, FunctionConfig, Invocation, InvokeRequest, LoadStats,
};
pub use manifest::{HandlerSource, Manifest, ManifestError, NodeHandler, PythonHandler};
pub use report::{LogFormat, LogLevel, Logging, Report};
pub use tooling::guest_build::{BuildError, GuestBuilder};
pub use tooling::js_build::{JsBuildError, JsBuilder, JsFunction};
pub use tooling::py_build::{PyBuildError, PyBuilder, PyFunction};
