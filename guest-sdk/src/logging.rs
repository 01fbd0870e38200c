//! Structured logging: the `log` facade, written as JSON lines.
//!
//! Handlers log with the macros they already know (`log::info!`,
//! `log::warn!`, key-values included); each record becomes one JSON line on
//! stdout in the shape of Lambda's JSON log format, with the invocation's
//! request id and function name added:
//!
//! ```text
//! {"timestamp":"2026-11-25T18:09:13.123Z","level":"INFO","message":"created","logger":"api","requestId":"…","functionName":"api","itemId":7}
//! ```
//!
//! The logger is installed on the first invocation unless the handler
//! installed one of its own first. The level comes from
//! `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging control) or
//! `LOG_LEVEL`, and is `INFO` by default.

use std::io::Write;
use std::sync::Mutex;
use std::time::SystemTime;

use log::kv::{Key, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use serde_json::Map;

use crate::Context;

/// The invocation the logs belong to.
static CURRENT: Mutex<Current> = Mutex::new(Current {
    active: false,
    request_id: String::new(),
    function_name: String::new(),
});

/// The request id and function name of the running invocation, if
/// `active`. The strings are kept between invocations so that `begin`
/// reuses their buffers instead of allocating.
struct Current {
    active: bool,
    request_id: String,
    function_name: String,
}

struct JsonLogger;

static LOGGER: JsonLogger = JsonLogger;

/// Installs the JSON logger (once; a logger the handler installed first
/// wins) with the level from the environment.
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level_from_env());
    }
}

/// Ties the following log lines to `ctx`'s invocation.
pub(crate) fn begin(ctx: &Context) {
    let mut current = lock();
    current.active = true;
    current.request_id.clear();
    current.request_id.push_str(&ctx.request_id);
    if current.function_name != ctx.function_name {
        current.function_name.clone_from(&ctx.function_name);
    }
}

/// Ends the invocation's scope: later lines (from `init`) carry no request id.
pub(crate) fn end() {
    lock().active = false;
}

fn lock() -> std::sync::MutexGuard<'static, Current> {
    CURRENT.lock().unwrap_or_else(|p| p.into_inner())
}

fn level_from_env() -> LevelFilter {
    ["AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"]
        .iter()
        .find_map(|var| std::env::var(var).ok())
        .and_then(|v| match v.to_ascii_uppercase().as_str() {
            // Lambda's FATAL has no `log` level of its own.
            "FATAL" => Some(LevelFilter::Error),
            other => other.parse().ok(),
        })
        .unwrap_or(LevelFilter::Info)
}

/// One record as a JSON line (without the newline).
pub fn format(record: &Record<'_>, now: SystemTime) -> String {
    let mut line = Map::new();
    line.insert(
        "timestamp".into(),
        humantime::format_rfc3339_millis(now).to_string().into(),
    );
    let level = match record.level() {
        Level::Warn => "WARN",
        other => other.as_str(),
    };
    line.insert("level".into(), level.into());
    line.insert("message".into(), record.args().to_string().into());
    line.insert("logger".into(), record.target().into());
    let current = lock();
    if current.active {
        line.insert("requestId".into(), current.request_id.clone().into());
        line.insert("functionName".into(), current.function_name.clone().into());
    }
    drop(current);
    let mut fields = Fields(&mut line);
    let _ = record.key_values().visit(&mut fields);
    serde_json::Value::Object(line).to_string()
}

/// Key-values of a record, as JSON fields.
struct Fields<'a>(&'a mut Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let json = if let Some(b) = value.to_bool() {
            b.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_f64() {
            n.into()
        } else {
            value.to_string().into()
        };
        self.0.insert(key.as_str().to_string(), json);
        Ok(())
    }
}

impl Log for JsonLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format(record, SystemTime::now());
        // One write per line, so lines never interleave.
        let _ = std::io::stdout()
            .lock()
            .write_all(format!("{line}\n").as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_the_invocation_and_key_values() {
        begin(&Context::for_test("shop"));
        let line = format(
            &Record::builder()
                .args(format_args!("order placed"))
                .level(Level::Warn)
                .target("shop::orders")
                .key_values(&[("orderId", 42)])
                .build(),
            std::time::UNIX_EPOCH,
        );
        end();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "timestamp": "1970-01-01T00:00:00.000Z",
                "level": "WARN",
                "message": "order placed",
                "logger": "shop::orders",
                "requestId": "00000000-0000-0000-0000-000000000000",
                "functionName": "shop",
                "orderId": 42,
            })
        );
    }
}
