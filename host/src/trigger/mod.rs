//! Triggers: where events come from. `wasmfn serve` is a local server that
//! speaks the Lambda Invoke API and API Gateway; every trigger invokes
//! through the one funnel, [`funnel::Funnel::invoke`].
//!
//! May import: `function`, `error`, `report` and `aws`; it
//! never reaches into an instance.

pub mod apigw;
pub mod funnel;
pub mod invoke_api;
pub mod invoke_stream;
pub mod lambda;
pub mod metrics;
pub mod queue;
pub mod registry;
pub mod schedule;
pub mod server;
pub mod stream;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};

use self::apigw::router::Router;
use self::funnel::Funnel;
use self::metrics::Metrics;
use self::queue::AsyncQueue;
use self::registry::Registry;
use crate::function::Function;

/// The response body type of the server: whole, or streamed
/// ([`stream::StreamedCall::into_body`]).
pub type Body = UnsyncBoxBody<Bytes, std::convert::Infallible>;

/// A whole response body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// An empty response body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// Everything a running server serves.
pub struct Service {
    /// The functions, by name.
    pub functions: Arc<Registry>,
    /// How every invocation is run, counted and logged.
    pub funnel: Arc<Funnel>,
    /// API Gateway routes.
    pub router: Router,
    /// The API Gateway stage, e.g. `dev`.
    pub stage: String,
    /// The durable queue of `Event` invocations.
    pub queue: AsyncQueue,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
}

impl Service {
    /// The function named by an Invoke API path segment (see
    /// [`Registry::resolve`]).
    pub fn function(&self, name: &str) -> Option<(String, Arc<Function>)> {
        self.functions.resolve(name)
    }
}
