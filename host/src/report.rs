//! The START / END / REPORT lines every Lambda user reads, byte for byte in
//! Lambda's format, and their JSON records when a function's `logFormat`
//! is `JSON` (Lambda's advanced logging controls, `LoggingConfig`).
//!
//! Imports nothing of the crate.

use std::time::{Duration, SystemTime};

/// A log level of Lambda's `LoggingConfig`, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    /// Lambda's names (`TRACE` … `FATAL`), in any case; also the names
    /// language loggers write (`WARNING`, `CRITICAL`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "TRACE" => LogLevel::Trace,
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" | "WARNING" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            "FATAL" | "CRITICAL" => LogLevel::Fatal,
            _ => return None,
        })
    }

    /// Lambda's name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }
}

/// `LogFormat`: plain text lines, or one JSON record per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A function's logging configuration (`LoggingConfig`). The levels filter
/// only in the JSON format, as on Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Logging {
    /// `LogFormat`.
    pub format: LogFormat,
    /// `ApplicationLogLevel`: the function's lines below it are dropped.
    pub application_level: LogLevel,
    /// `SystemLogLevel`: the platform records below it are dropped
    /// (`platform.start` and `platform.report` are `INFO`).
    pub system_level: LogLevel,
}

/// The figures of one invocation's REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Time spent in `handle`.
    pub duration: Duration,
    /// Time spent creating the instance and running `init`; only on the
    /// invocation that created its instance (a cold start).
    pub init_duration: Option<Duration>,
    /// Whether the instance was restored from a SnapStart snapshot, so that
    /// `init_duration` is its restore, not an `init`.
    pub restored: bool,
    /// The configured memory, in MB.
    pub memory_size_mb: u32,
    /// The instance's peak memory (linear memory plus the host's share), in
    /// MB, rounded up.
    pub max_memory_used_mb: u64,
}

impl Report {
    /// Billed duration in whole milliseconds: the run time (and, as on Lambda
    /// since 2025, the init time of a cold start) rounded up to the next
    /// millisecond. A restore is billed on its own line.
    pub fn billed_ms(&self) -> u64 {
        let init = if self.restored {
            Duration::ZERO
        } else {
            self.init_duration.unwrap_or_default()
        };
        whole_ms(self.duration + init)
    }

    /// `REPORT RequestId: …<TAB>Duration: … ms<TAB>…`, tab-separated as Lambda writes it.
    pub fn line(&self, request_id: &str) -> String {
        let mut line = format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            ms(self.duration),
            self.billed_ms(),
            self.memory_size_mb,
            self.max_memory_used_mb,
        );
        match self.init_duration {
            Some(restore) if self.restored => line.push_str(&format!(
                "\tRestore Duration: {:.2} ms\tBilled Restore Duration: {} ms",
                ms(restore),
                whole_ms(restore)
            )),
            Some(init) => line.push_str(&format!("\tInit Duration: {:.2} ms", ms(init))),
            None => {}
        }
        line
    }
}

/// `START RequestId: … Version: …`
pub fn start_line(request_id: &str, version: &str) -> String {
    format!("START RequestId: {request_id} Version: {version}")
}

/// `END RequestId: …`
pub fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// START, the guest's log lines (already in CloudWatch's shape), END and
/// REPORT, as one block of text: what Lambda writes to CloudWatch for one
/// invocation.
pub fn log_block(request_id: &str, version: &str, guest_lines: &str, report: &Report) -> String {
    format!(
        "{}\n{guest_lines}{}\n{}\n",
        start_line(request_id, version),
        end_line(request_id),
        report.line(request_id)
    )
}

/// How an invocation ended, as `platform.report` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Error,
    Timeout,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Timeout => "timeout",
        }
    }
}

/// The JSON form of [`log_block`]: `platform.start`, the function's records
/// (already JSON, one per line) and `platform.report`, each a line of
/// Lambda's shape (`{"time", "type", "record"}`), the platform's left out
/// when `system_level` is above `INFO`.
pub fn log_block_json(
    request_id: &str,
    version: &str,
    guest_records: &str,
    report: &Report,
    status: Status,
    system_level: LogLevel,
    tenant: Option<&str>,
) -> String {
    if system_level > LogLevel::Info {
        return guest_records.to_string();
    }
    let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let mut start = serde_json::json!({
        "time": time,
        "type": "platform.start",
        "record": {"requestId": request_id, "version": version},
    });
    let mut metrics = serde_json::json!({
        "durationMs": round2(ms(report.duration)),
        "billedDurationMs": report.billed_ms(),
        "memorySizeMB": report.memory_size_mb,
        "maxMemoryUsedMB": report.max_memory_used_mb,
    });
    match report.init_duration {
        Some(restore) if report.restored => {
            metrics["restoreDurationMs"] = round2(ms(restore)).into();
            metrics["billedRestoreDurationMs"] = whole_ms(restore).into();
        }
        Some(init) => metrics["initDurationMs"] = round2(ms(init)).into(),
        None => {}
    }
    let mut end = serde_json::json!({
        "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "type": "platform.report",
        "record": {"requestId": request_id, "metrics": metrics, "status": status.as_str()},
    });
    // Under tenant isolation Lambda names the tenant in both records
    // (lambda/latest/dg/tenant-isolation-monitor.html).
    if let Some(tenant) = tenant {
        start["record"]["tenantId"] = tenant.into();
        end["record"]["tenantId"] = tenant.into();
    }
    format!("{start}\n{guest_records}{end}\n")
}

fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// Whole milliseconds, rounded up, at least one.
fn whole_ms(d: Duration) -> u64 {
    (d.as_micros() as u64).div_ceil(1000).max(1)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cold start's figures: 1.234 ms, init 0.45 ms, 18 of 128 MB.
    fn sample() -> Report {
        Report {
            duration: Duration::from_micros(1234),
            init_duration: Some(Duration::from_micros(450)),
            restored: false,
            memory_size_mb: 128,
            max_memory_used_mb: 18,
        }
    }

    #[test]
    fn report_line_matches_lambda() {
        let r = sample();
        assert_eq!(
            r.line("abc"),
            "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tInit Duration: 0.45 ms"
        );
        let warm = Report {
            init_duration: None,
            ..r.clone()
        };
        assert!(!warm.line("abc").contains("Init Duration"));
        let restored = Report {
            restored: true,
            ..r.clone()
        };
        assert_eq!(
            restored.line("abc"),
            "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tRestore Duration: 0.45 ms\tBilled Restore Duration: 1 ms"
        );
        assert_eq!(
            start_line("abc", "$LATEST"),
            "START RequestId: abc Version: $LATEST"
        );
        assert_eq!(end_line("abc"), "END RequestId: abc");
    }

    #[test]
    fn json_records_are_lambdas_and_the_system_level_drops_them() {
        let r = sample();
        let block = log_block_json(
            "abc",
            "$LATEST",
            "{\"m\":1}\n",
            &r,
            Status::Success,
            LogLevel::Info,
            Some("blue"),
        );
        let lines: Vec<serde_json::Value> = block
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], "platform.start");
        assert_eq!(lines[0]["record"]["requestId"], "abc");
        assert_eq!(lines[0]["record"]["version"], "$LATEST");
        assert_eq!(lines[0]["record"]["tenantId"], "blue");
        assert_eq!(lines[2]["record"]["tenantId"], "blue");
        assert_eq!(lines[1]["m"], 1);
        assert_eq!(lines[2]["type"], "platform.report");
        let metrics = &lines[2]["record"]["metrics"];
        assert_eq!(metrics["durationMs"], 1.23);
        assert_eq!(metrics["billedDurationMs"], 2);
        assert_eq!(metrics["memorySizeMB"], 128);
        assert_eq!(metrics["maxMemoryUsedMB"], 18);
        assert_eq!(metrics["initDurationMs"], 0.45);
        assert_eq!(lines[2]["record"]["status"], "success");
        assert!(lines[2]["time"].as_str().unwrap().ends_with('Z'));
        let quiet = log_block_json(
            "abc",
            "$LATEST",
            "x\n",
            &r,
            Status::Error,
            LogLevel::Warn,
            None,
        );
        assert_eq!(quiet, "x\n");
    }
}
