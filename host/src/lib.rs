//! wasmfn runs AWS-Lambda-style handlers as WebAssembly components.
//!
//! Every invocation, whatever its trigger, follows one path:
//!
//! ```text
//! trigger ──► Function::invoke ──► pool ──► Instance ──► guest `handle`
//! (CLI, Invoke API,   (one per      (warm      (Store, WASI,   (wit/handler.wit)
//!  API Gateway,        function)     reuse)     limits, logs)
//!  Lambda runtime)
//! ```
//!
//! * [`Host`] owns the engine (pooling allocator, epoch ticker), the linker
//!   and the on-disk [`ArtifactCache`] of precompiled components.
//! * [`Host::load`] turns a `.wasm` component into a [`Function`]: its
//!   artifact is compiled at most once per engine configuration, and its
//!   `InstancePre` is built once.
//! * [`Function::invoke`] takes a warm instance or makes one (running the
//!   guest's `init`, reported as `Init Duration`), runs the event through the
//!   guest's `handle` under the function's timeout and memory cap, and
//!   returns the response or a Lambda-shaped [`FunctionError`], with the
//!   guest's logs and the figures of Lambda's REPORT line.
//!
//! A guest cannot take the host down: traps, timeouts, memory exhaustion,
//! panics and `exit` all come back as errors, and the instance they happened
//! in is thrown away.

pub mod bindings;
pub mod cache;
pub mod descriptors;
pub mod dynamodb;
pub mod engine;
pub mod env;
pub mod error;
pub mod files;
pub mod function;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod guest_build;
pub mod host;
pub mod instance;
pub mod kv;
pub mod limits;
pub mod logs;
pub mod manifest;
pub mod metrics;
pub mod net;
pub mod outbound;
pub mod pool;
pub mod queue;
pub mod registry;
pub mod report;
pub mod routes;
pub mod sample;
pub mod scaffold;
pub mod schedule;
pub mod tree;
pub mod trigger;

pub use cache::{ArtifactCache, ArtifactSource, LoadStats};
pub use engine::{Allocator, EngineOptions, PoolingMode};
pub use error::{FunctionError, LoadError, Throttled};
pub use function::{Function, FunctionConfig, Invocation, InvokeRequest, StoreGrant};
pub use guest_build::{BuildError, GuestBuilder};
pub use host::{Host, HostOptions};
pub use manifest::{HandlerSource, Manifest, ManifestError};
pub use pool::{Policy, PoolConfig, PoolStats, Start};
pub use report::Report;
