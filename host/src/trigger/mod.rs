//! Triggers: where events come from. `wasmfn serve` is a local server that
//! speaks the Lambda Invoke API and API Gateway; every trigger ends in
//! [`Function::invoke`](crate::Function::invoke).

pub mod apigw;
pub mod http_routes;
pub mod invoke_api;
pub mod server;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::function::Function;
use crate::metrics::Metrics;
use crate::queue::AsyncQueue;
use crate::routes::Router;

/// Everything a running server serves.
pub struct Service {
    /// The functions, by name.
    pub functions: Arc<BTreeMap<String, Arc<Function>>>,
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
    /// The function named by an Invoke API path segment: a name, or a full
    /// or partial ARN (`arn:aws:lambda:…:function:name[:qualifier]`,
    /// `123456789012:function:name`). The RIE's `function` stands for the
    /// only function of a single-function manifest.
    pub fn function(&self, name: &str) -> Option<(&str, &Arc<Function>)> {
        let name = name
            .split_once("function:")
            .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
            .unwrap_or(name);
        if let Some((k, f)) = self.functions.get_key_value(name) {
            return Some((k.as_str(), f));
        }
        if name == "function" && self.functions.len() == 1 {
            return self.functions.iter().next().map(|(k, f)| (k.as_str(), f));
        }
        None
    }
}

/// Settings of `wasmfn serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where the async queue and destination records live.
    pub state_dir: PathBuf,
    /// Delay before the first retry of a failed async invocation.
    pub retry_delay: std::time::Duration,
}
