//! The one invocation funnel. Every trigger (the CLI's invoke, the Invoke
//! API, API Gateway routes, Function URLs, the async queue, schedules and
//! Lambda mode) invokes a function through [`Funnel::invoke`], which runs
//! the invocation, counts it in the metrics and writes its log, once, the
//! same way for all of them.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use super::metrics::Metrics;
use crate::error::Throttled;
use crate::function::{Function, Invocation, InvokeRequest};
use crate::report::log_block;

/// Which log an invocation writes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// START, the guest's lines, END and REPORT: what Lambda writes to
    /// CloudWatch, as local tools show it.
    Block,
    /// The guest's lines only: on Lambda, Lambda itself writes START, END
    /// and REPORT around what the runtime prints.
    GuestOnly,
}

/// Runs invocations for a trigger.
pub struct Funnel {
    metrics: Option<Arc<Metrics>>,
    style: LogStyle,
}

/// An invocation that ran, and the log it wrote.
#[derive(Debug)]
pub struct Invoked {
    /// What the invocation produced.
    pub invocation: Invocation,
    /// The text written to stderr for it (the source of `X-Amz-Log-Result`).
    pub log: String,
}

impl Funnel {
    /// A funnel that writes logs in `style` and, given `metrics`, counts
    /// every invocation and throttle there.
    pub fn new(style: LogStyle, metrics: Option<Arc<Metrics>>) -> Self {
        Funnel { metrics, style }
    }

    /// Invokes `function` with `event`, counts the invocation (or the
    /// throttle) and writes its log.
    pub async fn invoke(
        &self,
        function: &Arc<Function>,
        event: &[u8],
        request: InvokeRequest,
    ) -> Result<Invoked, Throttled> {
        let name = &function.config().name;
        let start = Instant::now();
        let invocation = match function.invoke(event, request).await {
            Ok(invocation) => invocation,
            Err(throttled) => {
                if let Some(metrics) = &self.metrics {
                    metrics.throttled(name);
                }
                return Err(throttled);
            }
        };
        if let Some(metrics) = &self.metrics {
            metrics.invoked(name, start.elapsed(), invocation.result.is_err());
        }
        let guest_lines = invocation.log_text();
        let log = match self.style {
            LogStyle::Block => log_block(
                &invocation.request_id,
                &function.config().version,
                &guest_lines,
                &invocation.report,
            ),
            LogStyle::GuestOnly => guest_lines,
        };
        // One write for the whole block, so that the blocks of concurrent
        // invocations never interleave. A closed stderr loses the log, not
        // the invocation.
        let _ = std::io::stderr().write_all(log.as_bytes());
        Ok(Invoked { invocation, log })
    }
}
