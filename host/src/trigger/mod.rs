//! Triggers: where events come from. `wasmfn serve` is a local server that
//! speaks the Lambda Invoke API and API Gateway; every trigger ends in
//! [`Function::invoke`](crate::Function::invoke).

pub mod apigw;
pub mod http_routes;
pub mod invoke_api;
pub mod lambda;
pub mod server;

use std::sync::Arc;

use crate::function::Function;
use crate::metrics::Metrics;
use crate::queue::AsyncQueue;
use crate::registry::Registry;
use crate::routes::Router;

/// Everything a running server serves.
pub struct Service {
    /// The functions, by name.
    pub functions: Arc<Registry>,
    /// API Gateway routes.
    pub router: Router,
    /// The API Gateway stage, e.g. `dev`.
    pub stage: String,
    /// The durable queue of `Event` invocations.
    pub queue: AsyncQueue,
    /// Prometheus metrics.
    pub metrics: Metrics,
}

impl Service {
    /// The function named by an Invoke API path segment (see
    /// [`Registry::resolve`]).
    pub fn function(&self, name: &str) -> Option<(String, Arc<Function>)> {
        self.functions.resolve(name)
    }
}
