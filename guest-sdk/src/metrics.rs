//! CloudWatch Embedded Metric Format (EMF).
//!
//! Metrics added during an invocation are written as one EMF JSON line on
//! stdout when the invocation ends (CloudWatch turns such log lines into
//! metrics, with no API call on the request path):
//!
//! ```
//! use wasmfn_guest::metrics::{self, Unit};
//!
//! metrics::set_namespace("Shop");
//! metrics::add_dimension("Service", "orders");
//! metrics::add("OrderValue", 42.5, Unit::None);
//! metrics::add("ProcessingTime", 12.0, Unit::Milliseconds);
//! let line = metrics::flush_to_string().unwrap();
//! let emf: serde_json::Value = serde_json::from_str(&line).unwrap();
//! assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Shop");
//! assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Service"]]));
//! assert_eq!(emf["ProcessingTime"], 12.0);
//! assert_eq!(emf["Service"], "orders");
//! ```
//!
//! The namespace defaults to `POWERTOOLS_METRICS_NAMESPACE` (as Lambda
//! Powertools reads it) or `wasmfn`. Inside an invocation the function name
//! is a dimension (`FunctionName`) unless the handler sets its own
//! dimensions. A metric added twice in one invocation keeps both values, as
//! EMF allows; more than 100 metrics are split over several lines, EMF's
//! limit per document.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// CloudWatch's metric units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    /// The unit's name in EMF.
    pub fn as_str(self) -> &'static str {
        use Unit::*;
        match self {
            Seconds => "Seconds",
            Microseconds => "Microseconds",
            Milliseconds => "Milliseconds",
            Bytes => "Bytes",
            Kilobytes => "Kilobytes",
            Megabytes => "Megabytes",
            Gigabytes => "Gigabytes",
            Terabytes => "Terabytes",
            Bits => "Bits",
            Kilobits => "Kilobits",
            Megabits => "Megabits",
            Gigabits => "Gigabits",
            Terabits => "Terabits",
            Percent => "Percent",
            Count => "Count",
            BytesPerSecond => "Bytes/Second",
            KilobytesPerSecond => "Kilobytes/Second",
            MegabytesPerSecond => "Megabytes/Second",
            GigabytesPerSecond => "Gigabytes/Second",
            TerabytesPerSecond => "Terabytes/Second",
            BitsPerSecond => "Bits/Second",
            KilobitsPerSecond => "Kilobits/Second",
            MegabitsPerSecond => "Megabits/Second",
            GigabitsPerSecond => "Gigabits/Second",
            TerabitsPerSecond => "Terabits/Second",
            CountPerSecond => "Count/Second",
            None => "None",
        }
    }
}

/// EMF's limit of metrics per document.
const MAX_METRICS_PER_LINE: usize = 100;

#[derive(Default)]
struct Pending {
    namespace: Option<String>,
    function_name: Option<String>,
    /// Dimension name → value, for this invocation.
    dimensions: BTreeMap<String, String>,
    /// Extra fields of the line (searchable in Logs Insights, not metrics).
    properties: Map<String, Value>,
    /// Metric name → (unit, values), in the order first added.
    metrics: Vec<(String, Unit, Vec<f64>)>,
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Pending) -> T) -> T {
    let mut guard = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(Pending::default))
}

/// Records `value` of metric `name` in `unit`.
pub fn add(name: &str, value: f64, unit: Unit) {
    with(|p| match p.metrics.iter_mut().find(|(n, _, _)| n == name) {
        Some((_, _, values)) => values.push(value),
        None => p.metrics.push((name.to_string(), unit, vec![value])),
    });
}

/// Sets the namespace (kept across invocations).
pub fn set_namespace(namespace: &str) {
    with(|p| p.namespace = Some(namespace.to_string()));
}

/// Adds a dimension to this invocation's metrics.
pub fn add_dimension(name: &str, value: &str) {
    with(|p| {
        p.dimensions.insert(name.to_string(), value.to_string());
    });
}

/// Adds a property: a field of the EMF line that is not a metric (a
/// request id, an order id) for searching the logs.
pub fn add_property(key: &str, value: impl Into<Value>) {
    with(|p| {
        p.properties.insert(key.to_string(), value.into());
    });
}

/// Marks the start of an invocation of `function_name`.
pub(crate) fn begin(function_name: &str) {
    with(|p| {
        // The same name every time in practice: keep it rather than copy it.
        if p.function_name.as_deref() != Some(function_name) {
            p.function_name = Some(function_name.to_string());
        }
    });
}

/// Writes this invocation's metrics (if any) as EMF lines on stdout and
/// clears them. The handler glue calls it when an invocation ends.
pub fn flush() {
    if let Some(lines) = take_lines(SystemTime::now()) {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(lines.as_bytes());
    }
}

/// Like [`flush`], but returns the lines (newline-separated, without the
/// last newline) instead of writing them; for tests.
pub fn flush_to_string() -> Option<String> {
    take_lines(SystemTime::now()).map(|s| s.trim_end().to_string())
}

fn take_lines(now: SystemTime) -> Option<String> {
    let (namespace, dimensions, properties, metrics) = with(|p| {
        if p.metrics.is_empty() {
            // The common case: nothing to write, and nothing to look up.
            p.dimensions.clear();
            p.properties.clear();
            return None;
        }
        let mut dimensions = std::mem::take(&mut p.dimensions);
        if dimensions.is_empty() {
            if let Some(f) = &p.function_name {
                dimensions.insert("FunctionName".into(), f.clone());
            }
        }
        let namespace = p.namespace.clone().unwrap_or_else(|| {
            std::env::var("POWERTOOLS_METRICS_NAMESPACE").unwrap_or_else(|_| "wasmfn".into())
        });
        Some((
            namespace,
            dimensions,
            std::mem::take(&mut p.properties),
            std::mem::take(&mut p.metrics),
        ))
    })?;
    let timestamp = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut out = String::new();
    for chunk in metrics.chunks(MAX_METRICS_PER_LINE) {
        let mut line = properties.clone();
        for (name, value) in &dimensions {
            line.insert(name.clone(), value.clone().into());
        }
        let definitions: Vec<Value> = chunk
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        for (name, _, values) in chunk {
            let value = match values.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            line.insert(name.clone(), value);
        }
        let dimension_names: Vec<&String> = dimensions.keys().collect();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": if dimension_names.is_empty() { json!([]) } else { json!([dimension_names]) },
                    "Metrics": definitions,
                }],
            }),
        );
        out.push_str(&Value::Object(line).to_string());
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_hundred_metrics_with_repeated_values_kept() {
        begin("orders");
        for i in 0..150 {
            add(&format!("m{i}"), i as f64, Unit::Count);
        }
        add("m0", 7.0, Unit::Count);
        add_property("orderId", "o-1");
        let text = take_lines(UNIX_EPOCH + std::time::Duration::from_millis(5)).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let aws = &lines[0]["_aws"];
        assert_eq!(aws["Timestamp"], 5);
        assert_eq!(
            aws["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName"]])
        );
        assert_eq!(
            aws["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        assert_eq!(lines[0]["m0"], json!([0.0, 7.0]));
        assert_eq!(lines[0]["FunctionName"], "orders");
        assert_eq!(lines[1]["orderId"], "o-1");
        assert_eq!(lines[1]["m149"], 149.0);
        // Flushed: nothing left for the next invocation.
        assert!(take_lines(SystemTime::now()).is_none());
    }
}
