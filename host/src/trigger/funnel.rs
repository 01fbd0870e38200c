//! The one invocation funnel. Every trigger (the CLI's invoke, the Invoke
//! API, API Gateway routes, Function URLs, the async queue, schedules and
//! Lambda mode) invokes a function through [`Funnel::invoke`], which runs
//! the invocation, counts it in the metrics and writes its log, once, the
//! same way for all of them.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use super::metrics::Metrics;
use crate::error::Refused;
use crate::function::{Function, Invocation, InvokeRequest};
use crate::instance::response::ResponseSink;
use crate::report::{log_block, log_block_json, LogFormat, LogLevel, Status};

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
    /// The least level written, over every function's own levels.
    floor: LogLevel,
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
        Funnel {
            metrics,
            style,
            floor: LogLevel::Trace,
        }
    }

    /// Writes nothing below `floor`, whatever the functions' own levels: a
    /// busy local server kept quiet (`--log-level`). In the text format the
    /// START / END / REPORT lines are `INFO`, the function's lines `INFO`
    /// from stdout and `ERROR` from stderr unless they carry a level.
    pub fn with_floor(mut self, floor: LogLevel) -> Self {
        self.floor = floor;
        self
    }

    /// Invokes `function` with `event`, counts the invocation (or the
    /// throttle) and writes its log.
    pub async fn invoke(
        &self,
        function: &Arc<Function>,
        event: &[u8],
        request: InvokeRequest,
    ) -> Result<Invoked, Refused> {
        let start = Instant::now();
        let invocation = function.invoke(event, request).await;
        self.record(function, start, invocation)
    }

    /// As [`Self::invoke`], with the response streamed to `sink` as the
    /// function writes it.
    pub async fn invoke_streamed(
        &self,
        function: &Arc<Function>,
        event: &[u8],
        request: InvokeRequest,
        sink: ResponseSink,
    ) -> Result<Invoked, Refused> {
        let start = Instant::now();
        let invocation = function.invoke_streamed(event, request, sink).await;
        self.record(function, start, invocation)
    }

    fn record(
        &self,
        function: &Arc<Function>,
        start: Instant,
        invocation: Result<Invocation, Refused>,
    ) -> Result<Invoked, Refused> {
        let name = &function.config().name;
        let invocation = match invocation {
            Ok(invocation) => invocation,
            Err(refused) => {
                if let (Some(metrics), Refused::Throttled(_)) = (&self.metrics, &refused) {
                    metrics.throttled(name);
                }
                return Err(refused);
            }
        };
        if let Some(metrics) = &self.metrics {
            metrics.invoked(name, start.elapsed(), invocation.result.is_err());
        }
        let config = function.config();
        let logging = config.logging;
        let log = match logging.format {
            LogFormat::Text => {
                let guest_lines = invocation
                    .logs
                    .to_cloudwatch_at(&invocation.request_id, self.floor);
                match self.style {
                    LogStyle::Block if self.floor > LogLevel::Info => guest_lines,
                    LogStyle::Block => log_block(
                        &invocation.request_id,
                        &config.version,
                        &guest_lines,
                        &invocation.report,
                    ),
                    LogStyle::GuestOnly => guest_lines,
                }
            }
            LogFormat::Json => {
                let records = invocation.logs.to_json_records(
                    &invocation.request_id,
                    invocation.tenant_id.as_deref(),
                    logging.application_level.max(self.floor),
                );
                match self.style {
                    LogStyle::Block => log_block_json(
                        &invocation.request_id,
                        &config.version,
                        &records,
                        &invocation.report,
                        status(&invocation),
                        logging.system_level.max(self.floor),
                        invocation.tenant_id.as_deref(),
                    ),
                    LogStyle::GuestOnly => records,
                }
            }
        };
        // One write for the whole block, so that the blocks of concurrent
        // invocations never interleave. A closed stderr loses the log, not
        // the invocation.
        let _ = std::io::stderr().write_all(log.as_bytes());
        Ok(Invoked { invocation, log })
    }
}

/// How `invocation` ended, as `platform.report` says it.
fn status(invocation: &Invocation) -> Status {
    match &invocation.result {
        Ok(_) => Status::Success,
        Err(e) if e.error_type == crate::error::ERROR_TIMEOUT => Status::Timeout,
        Err(_) => Status::Error,
    }
}
