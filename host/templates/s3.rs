//! {{name}}: reacts to S3 object notifications.

use wasmfn_guest::events::s3::S3Event;
use wasmfn_guest::{Context, Error};

/// Logs each created or removed object and returns how many were seen.
#[wasmfn_guest::handler]
pub fn handler(event: S3Event, _ctx: Context) -> Result<serde_json::Value, Error> {
    let mut keys = Vec::new();
    for record in &event.records {
        let bucket = record.s3.bucket.name.as_deref().unwrap_or("");
        // Keys arrive URL-encoded, with `+` for spaces.
        let raw = record.s3.object.key.as_deref().unwrap_or("").replace('+', " ");
        let key = percent_encoding::percent_decode_str(&raw).decode_utf8_lossy().into_owned();
        let action = record.event_name.as_deref().unwrap_or("");
        log::info!(bucket = bucket, key = key.as_str(), action = action; "object event");
        keys.push(key);
    }
    Ok(serde_json::json!({ "records": keys.len(), "keys": keys }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_event_has_no_records() {
        let out = handler(S3Event::default(), Context::for_test("{{name}}")).unwrap();
        assert_eq!(out["records"], 0);
    }
}
