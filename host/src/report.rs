//! The START / END / REPORT lines every Lambda user reads, byte for byte in
//! Lambda's format.
//!
//! Imports nothing of the crate.

use std::time::Duration;

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

    #[test]
    fn report_line_matches_lambda() {
        let r = Report {
            duration: Duration::from_micros(1234),
            init_duration: Some(Duration::from_micros(450)),
            restored: false,
            memory_size_mb: 128,
            max_memory_used_mb: 18,
        };
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
}
