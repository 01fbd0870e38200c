//! Prometheus metrics of a running service: per function, invocations,
//! errors, throttles, cold starts, warm instances and a duration histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::function::Function;
use crate::trigger::registry::Registry;

/// Histogram bucket upper bounds, in seconds: from 100 µs (a warm call) to
/// 30 s (a slow function).
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 30.0,
];

#[derive(Default)]
struct Counters {
    invocations: AtomicU64,
    errors: AtomicU64,
    throttles: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_micros: AtomicU64,
}

/// The metrics of a registry's functions.
pub struct Metrics {
    registry: Arc<Registry>,
    functions: BTreeMap<String, Counters>,
}

impl Metrics {
    /// Metrics for the functions of `registry` (a fixed set of names; a
    /// reloaded function keeps its counters).
    pub fn new(registry: Arc<Registry>) -> Self {
        let functions = registry
            .all()
            .into_iter()
            .map(|(name, _)| (name, Counters::default()))
            .collect();
        Metrics {
            registry,
            functions,
        }
    }

    /// Records a finished invocation.
    pub fn invoked(&self, function: &str, duration: Duration, error: bool) {
        let Some(c) = self.functions.get(function) else {
            return;
        };
        c.invocations.fetch_add(1, Ordering::Relaxed);
        if error {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        let secs = duration.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&c.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        c.duration_micros
            .fetch_add(duration.as_micros() as u64, Ordering::Relaxed);
    }

    /// Records a throttled invocation.
    pub fn throttled(&self, function: &str) {
        if let Some(c) = self.functions.get(function) {
            c.throttles.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut family =
            |name: &str, kind: &str, help: &str, value: &dyn Fn(&Function, &Counters) -> u64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (fname, c) in &self.functions {
                    if let Some(f) = self.registry.get(fname) {
                        let _ = writeln!(out, "{name}{{function=\"{fname}\"}} {}", value(&f, c));
                    }
                }
            };
        family(
            "wasmfn_invocations_total",
            "counter",
            "Invocations that ran.",
            &|_, c| c.invocations.load(Ordering::Relaxed),
        );
        family(
            "wasmfn_errors_total",
            "counter",
            "Invocations that ended in a function error.",
            &|_, c| c.errors.load(Ordering::Relaxed),
        );
        family(
            "wasmfn_throttles_total",
            "counter",
            "Invocations refused over the concurrency limit.",
            &|_, c| c.throttles.load(Ordering::Relaxed),
        );
        family(
            "wasmfn_cold_starts_total",
            "counter",
            "Invocations that created their instance.",
            &|f, _| f.pool_stats().cold_starts,
        );
        family(
            "wasmfn_warm_instances",
            "gauge",
            "Warm instances idle now.",
            &|f, _| f.pool_stats().idle as u64,
        );
        family(
            "wasmfn_spare_instances",
            "gauge",
            "Pre-warmed spare instances ready now.",
            &|f, _| f.pool_stats().spares as u64,
        );
        let name = "wasmfn_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time spent in the handler.\n# TYPE {name} histogram"
        );
        for (fname, c) in &self.functions {
            for (bound, bucket) in BUCKETS.iter().zip(&c.buckets) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{function=\"{fname}\",le=\"{bound}\"}} {}",
                    bucket.load(Ordering::Relaxed)
                );
            }
            let count = c.invocations.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{function=\"{fname}\",le=\"+Inf\"}} {count}"
            );
            let sum = c.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{function=\"{fname}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{function=\"{fname}\"}} {count}");
        }
        out
    }
}
