//! The latency statistics of one kind of invocation (cold, spare, warm), as
//! `wasmfn bench` prints, saves and plots them.

use std::time::Duration;

use serde::Serialize;

/// Latency statistics of one kind of invocation.
#[derive(Debug, Serialize)]
pub struct Series {
    /// `cold`, `spare` or `warm`.
    pub kind: &'static str,
    /// Every sample, in microseconds, sorted.
    pub samples_us: Vec<f64>,
    /// Median, µs.
    pub p50_us: f64,
    /// 90th percentile, µs.
    pub p90_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Slowest, µs.
    pub max_us: f64,
    /// Page faults the process took per invocation, on average (Linux):
    /// what a new instance costs in copy-on-write and re-mapped pages.
    pub faults_per_call: Option<f64>,
}

impl Series {
    pub fn new(kind: &'static str, samples: Vec<Duration>) -> Self {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if us.is_empty() {
                return 0.0;
            }
            let i = ((us.len() as f64 - 1.0) * p).round() as usize;
            us[i.min(us.len() - 1)]
        };
        Series {
            kind,
            p50_us: pct(0.50),
            p90_us: pct(0.90),
            p99_us: pct(0.99),
            max_us: us.last().copied().unwrap_or(0.0),
            samples_us: us,
            faults_per_call: None,
        }
    }

    /// The series with the page faults counted over its invocations.
    pub fn with_faults(mut self, faults: Option<u64>) -> Self {
        let n = self.samples_us.len().max(1) as f64;
        self.faults_per_call = faults.map(|f| f as f64 / n);
        self
    }
}
