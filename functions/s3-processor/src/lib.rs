//! Processes S3 notifications, one record at a time.
//!
//! * `ObjectCreated:*` records are dispatched by the key's extension: JSON
//!   documents, images, CSV and text files each have a processor; any other
//!   type is an error for that record.
//! * `ObjectRemoved:*` records are acknowledged as removals.
//! * Keys arrive URL-encoded (`my+photo%281%29.jpg`) and are decoded first,
//!   as every S3 handler must.
//!
//! A record that fails is reported in the summary (and logged) without
//! losing the others: the invocation succeeds with every record accounted
//! for, because an error would make Lambda retry the whole event and
//! process the good records twice.

use percent_encoding::percent_decode_str;
use serde::Serialize;
use wasmfn_guest::events::s3::{S3Event, S3EventRecord};
use wasmfn_guest::{Context, Error};

/// What happened to one record.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    /// `created` or `removed`.
    pub action: &'static str,
    /// The processor that handled it (`json`, `image`, `csv`, `text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor: Option<&'static str>,
    /// The object's size in bytes, when the record carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// A record that could not be processed.
#[derive(Debug, Serialize, PartialEq)]
pub struct Failure {
    /// The decoded key, or the raw one if it did not decode.
    pub key: String,
    /// Why.
    pub error: String,
}

/// The invocation's result: every record is in exactly one list.
#[derive(Debug, Serialize, Default)]
pub struct Summary {
    /// Records processed.
    pub processed: Vec<Outcome>,
    /// Records that failed.
    pub failed: Vec<Failure>,
}

/// Handles one S3 event.
#[wasmfn_guest::handler]
pub fn handler(event: S3Event, _ctx: Context) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    for record in &event.records {
        let raw_key = record.s3.object.key.clone().unwrap_or_default();
        match process(record) {
            Ok(outcome) => {
                log::info!(bucket = outcome.bucket.as_str(), key = outcome.key.as_str(), action = outcome.action; "processed");
                summary.processed.push(outcome);
            }
            Err(e) => {
                let key = decode_key(&raw_key).unwrap_or(raw_key);
                log::error!(key = key.as_str(); "{}", e.message());
                summary.failed.push(Failure {
                    key,
                    error: e.message().to_string(),
                });
            }
        }
    }
    Ok(summary)
}

/// One record.
fn process(record: &S3EventRecord) -> Result<Outcome, Error> {
    let bucket = record.s3.bucket.name.clone().unwrap_or_default();
    let raw_key = record
        .s3
        .object
        .key
        .as_deref()
        .ok_or_else(|| Error::new("InvalidRecord", "the record has no object key"))?;
    let key = decode_key(raw_key)?;
    let event_name = record.event_name.as_deref().unwrap_or("");
    let size = record.s3.object.size;
    if event_name.starts_with("ObjectRemoved") {
        return Ok(Outcome {
            bucket,
            key,
            action: "removed",
            processor: None,
            size: None,
        });
    }
    if !event_name.starts_with("ObjectCreated") {
        return Err(Error::new(
            "UnsupportedEvent",
            format!("{key}: event `{event_name}` is neither ObjectCreated nor ObjectRemoved"),
        ));
    }
    let processor = processor_for(&key).ok_or_else(|| {
        Error::new(
            "UnsupportedType",
            format!("{key}: no processor for this file type"),
        )
    })?;
    Ok(Outcome {
        bucket,
        key,
        action: "created",
        processor: Some(processor),
        size,
    })
}

/// S3 event keys are URL-encoded with `+` for spaces.
pub fn decode_key(raw: &str) -> Result<String, Error> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| {
            Error::new(
                "InvalidKey",
                format!("{raw}: the key is not URL-encoded UTF-8: {e}"),
            )
        })
}

/// The processor for a key, by extension.
pub fn processor_for(key: &str) -> Option<&'static str> {
    let extension = key.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "json" => "json",
        "jpg" | "jpeg" | "png" | "gif" | "webp" => "image",
        "csv" => "csv",
        "txt" | "log" | "md" => "text",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(
            decode_key("my+photo%281%29.JPG").unwrap(),
            "my photo(1).JPG"
        );
        assert!(decode_key("bad%FF.txt").is_err());
    }

    #[test]
    fn dispatch_is_by_extension() {
        assert_eq!(processor_for("a/b/c.PNG"), Some("image"));
        assert_eq!(processor_for("report.csv"), Some("csv"));
        assert_eq!(processor_for("archive.zip"), None);
        assert_eq!(processor_for("README"), None);
    }
}
