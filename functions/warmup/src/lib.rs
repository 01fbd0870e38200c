//! A function kept warm by a schedule, with a warm-instance cache.
//!
//! * A warm-up event (an EventBridge `Scheduled Event`, or
//!   `{"source": "serverless-plugin-warmup"}`) returns at once: its only
//!   job is to keep an instance initialized.
//! * Any other event `{"key": "..."}` is answered from a cache that lives
//!   in the instance (a global, kept while the instance stays warm), filled
//!   by an "expensive" computation on a miss. Entries expire after
//!   `CACHE_TTL_MS` (default 60 000) and the cache holds at most
//!   `CACHE_MAX_ENTRIES` (default 100), evicting the least recently used.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmfn_guest::{Context, Error};

/// The cache's settings, from the environment.
#[derive(Debug, Deserialize)]
struct Settings {
    #[serde(default = "default_ttl")]
    cache_ttl_ms: u64,
    #[serde(default = "default_capacity")]
    cache_max_entries: NonZeroUsize,
}

fn default_ttl() -> u64 {
    60_000
}

fn default_capacity() -> NonZeroUsize {
    NonZeroUsize::new(100).expect("non-zero")
}

struct Cache {
    ttl: Duration,
    entries: LruCache<String, (Instant, String)>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The answer to a lookup.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The key asked for.
    pub key: String,
    /// Its value.
    pub value: String,
    /// `hit` or `miss`.
    pub cache: &'static str,
    /// Entries in the cache afterwards.
    pub entries: usize,
}

/// Reads the cache settings once per instance (Lambda's init phase).
fn init() -> Result<(), Error> {
    let settings: Settings = wasmfn_guest::config::from_env()?;
    *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cache {
        ttl: Duration::from_millis(settings.cache_ttl_ms),
        entries: LruCache::new(settings.cache_max_entries),
    });
    Ok(())
}

/// Handles a warm-up or a lookup.
#[wasmfn_guest::handler(init = init)]
pub fn handler(event: Value, _ctx: Context) -> Result<Value, Error> {
    if is_warmup(&event) {
        log::info!("warm-up: instance kept warm");
        return Ok(serde_json::json!({"warmup": true}));
    }
    let key = event["key"]
        .as_str()
        .ok_or_else(|| Error::new("BadRequest", "the event needs a string `key`"))?;
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        // Called natively, without the init phase.
        drop(guard);
        init()?;
        guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    }
    let cache = guard.as_mut().expect("initialized above");
    let ttl = cache.ttl;
    let (value, hit) = match cache.entries.get(key) {
        Some((stored, value)) if stored.elapsed() < ttl => (value.clone(), true),
        _ => {
            let value = expensive(key);
            cache
                .entries
                .put(key.to_string(), (Instant::now(), value.clone()));
            (value, false)
        }
    };
    Ok(serde_json::to_value(Answer {
        key: key.to_string(),
        value,
        cache: if hit { "hit" } else { "miss" },
        entries: cache.entries.len(),
    })?)
}

/// Whether `event` only wants to keep the instance warm.
pub fn is_warmup(event: &Value) -> bool {
    let source = event["source"].as_str();
    source == Some("serverless-plugin-warmup")
        || (source == Some("aws.events") && event["detail-type"] == "Scheduled Event")
}

/// Stands for a slow lookup (a database read, a remote call).
fn expensive(key: &str) -> String {
    key.chars().rev().collect::<String>().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn warmups_are_recognized() {
        assert!(is_warmup(
            &json!({"source": "aws.events", "detail-type": "Scheduled Event"})
        ));
        assert!(is_warmup(&json!({"source": "serverless-plugin-warmup"})));
        assert!(!is_warmup(
            &json!({"source": "aws.events", "detail-type": "EC2 Instance State-change Notification"})
        ));
        assert!(!is_warmup(&json!({"key": "a"})));
    }

    #[test]
    fn the_second_lookup_hits() {
        let ctx = Context::for_test("warmup");
        let first = handler(json!({"key": "abc"}), ctx.clone()).unwrap();
        assert_eq!(first["value"], "CBA");
        let second = handler(json!({"key": "abc"}), ctx).unwrap();
        assert_eq!(second["cache"], "hit");
    }
}
