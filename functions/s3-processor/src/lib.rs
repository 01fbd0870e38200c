//! Processes S3 notifications, one record at a time.
//!
//! * `ObjectCreated:*` records: the object is fetched from S3 over outbound
//!   HTTP ([`s3`]) and dispatched by its `Content-Type` (or, for a generic
//!   one, the key's extension). JSON documents are parsed, images get a
//!   thumbnail (at most 128×128, same format) written back under
//!   `thumbnails/`, CSV and text files are counted; any other type is an
//!   error for that record. Keys already under `thumbnails/` are skipped, so
//!   a bucket that notifies this function of its own writes does not loop.
//! * `ObjectRemoved:*` records are acknowledged as removals.
//! * Keys arrive URL-encoded (`my+photo%281%29.jpg`) and are decoded first,
//!   as every S3 handler must.
//!
//! A record that fails is reported in the summary (and logged) without
//! losing the others: the invocation succeeds with every record accounted
//! for, because an error would make Lambda retry the whole event and
//! process the good records twice.

pub mod s3;

use std::io::Cursor;

use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::{json, Value};
use wasmfn_guest::events::s3::{S3Event, S3EventRecord};
use wasmfn_guest::{Context, Error};

use crate::s3::{Object, Objects};

/// Where thumbnails go, and keys this function ignores.
pub const THUMBNAILS: &str = "thumbnails/";

/// The longest side of a thumbnail.
pub const THUMBNAIL_SIZE: u32 = 128;

/// What happened to one record.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The bucket.
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    /// `created`, `removed` or `skipped`.
    pub action: &'static str,
    /// The processor that handled it (`json`, `image`, `csv`, `text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor: Option<&'static str>,
    /// The object's size in bytes, when the record carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// What the processor found (entries, rows, dimensions, the thumbnail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
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
    Ok(process_event(&event, &s3::S3::from_env()))
}

/// Every record of `event`, reading and writing objects in `objects`.
pub fn process_event(event: &S3Event, objects: &impl Objects) -> Summary {
    let mut summary = Summary::default();
    for record in &event.records {
        let raw_key = record.s3.object.key.clone().unwrap_or_default();
        match process(record, objects) {
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
    summary
}

/// One record.
fn process(record: &S3EventRecord, objects: &impl Objects) -> Result<Outcome, Error> {
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
            details: None,
        });
    }
    if !event_name.starts_with("ObjectCreated") {
        return Err(Error::new(
            "UnsupportedEvent",
            format!("{key}: event `{event_name}` is neither ObjectCreated nor ObjectRemoved"),
        ));
    }
    if key.starts_with(THUMBNAILS) {
        return Ok(Outcome {
            bucket,
            key,
            action: "skipped",
            processor: None,
            size,
            details: None,
        });
    }
    let object = objects.get(&bucket, &key)?;
    let processor = processor_by_type(object.content_type.as_deref())
        .or_else(|| processor_for(&key))
        .ok_or_else(|| {
            Error::new(
                "UnsupportedType",
                format!(
                    "{key}: no processor for this file type ({})",
                    object.content_type.as_deref().unwrap_or("no content type")
                ),
            )
        })?;
    let details = match processor {
        "json" => {
            let value: Value = serde_json::from_slice(&object.body)
                .map_err(|e| Error::new("InvalidJson", format!("{key}: {e}")))?;
            let entries = match &value {
                Value::Object(map) => map.len(),
                Value::Array(items) => items.len(),
                _ => 1,
            };
            json!({ "entries": entries })
        }
        "image" => {
            let thumb = thumbnail(&object.body)
                .map_err(|e| Error::new("InvalidImage", format!("{key}: {}", e.message())))?;
            let thumb_key = format!("{THUMBNAILS}{key}");
            objects.put(
                &bucket,
                &thumb_key,
                Object {
                    content_type: Some(thumb.content_type.to_string()),
                    body: thumb.bytes,
                },
            )?;
            json!({
                "width": thumb.source.0,
                "height": thumb.source.1,
                "thumbnail": thumb_key,
                "thumbnailWidth": thumb.size.0,
                "thumbnailHeight": thumb.size.1,
            })
        }
        "csv" => json!({ "rows": count_lines(&object.body) }),
        _ => json!({ "lines": count_lines(&object.body) }),
    };
    Ok(Outcome {
        bucket,
        key,
        action: "created",
        processor: Some(processor),
        size: size.or(Some(object.body.len() as i64)),
        details: Some(details),
    })
}

fn count_lines(body: &[u8]) -> usize {
    body.split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .count()
}

/// A thumbnail and what it was made from.
pub struct Thumbnail {
    /// The source's width and height.
    pub source: (u32, u32),
    /// The thumbnail's width and height.
    pub size: (u32, u32),
    /// Its `Content-Type` (the source's format).
    pub content_type: &'static str,
    /// The encoded thumbnail.
    pub bytes: Vec<u8>,
}

/// Scales an image down to fit [`THUMBNAIL_SIZE`], keeping its aspect
/// ratio and its format.
pub fn thumbnail(bytes: &[u8]) -> Result<Thumbnail, Error> {
    let fail = |e: image::ImageError| Error::new("InvalidImage", e.to_string());
    let format = image::guess_format(bytes).map_err(fail)?;
    let source = image::load_from_memory_with_format(bytes, format).map_err(fail)?;
    let small = source.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE);
    let mut out = Cursor::new(Vec::new());
    small.write_to(&mut out, format).map_err(fail)?;
    Ok(Thumbnail {
        source: (source.width(), source.height()),
        size: (small.width(), small.height()),
        content_type: format.to_mime_type(),
        bytes: out.into_inner(),
    })
}

/// The processor for a `Content-Type`; `None` for a generic one.
pub fn processor_by_type(content_type: Option<&str>) -> Option<&'static str> {
    let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "application/json" => "json",
        t if t.ends_with("+json") => "json",
        t if t.starts_with("image/") => "image",
        "text/csv" => "csv",
        t if t.starts_with("text/") => "text",
        _ => return None,
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

    /// Objects in memory, as S3 would hold them.
    #[derive(Default)]
    struct Memory(std::cell::RefCell<std::collections::BTreeMap<String, Object>>);

    impl Objects for Memory {
        fn get(&self, bucket: &str, key: &str) -> Result<Object, Error> {
            self.0
                .borrow()
                .get(&format!("{bucket}/{key}"))
                .cloned()
                .ok_or_else(|| Error::new("NoSuchKey", key.to_string()))
        }
        fn put(&self, bucket: &str, key: &str, object: Object) -> Result<(), Error> {
            self.0
                .borrow_mut()
                .insert(format!("{bucket}/{key}"), object);
            Ok(())
        }
    }

    fn created(key: &str) -> S3Event {
        serde_json::from_value(json!({"Records": [{
            "eventName": "ObjectCreated:Put",
            "eventTime": "2026-11-25T12:00:00.000Z",
            "userIdentity": {}, "requestParameters": {}, "responseElements": {},
            "s3": {"bucket": {"name": "b"}, "object": {"key": key}}
        }]}))
        .unwrap()
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_gets_a_thumbnail_under_thumbnails() {
        let objects = Memory::default();
        let object = Object {
            content_type: Some("image/png".into()),
            body: png(400, 200),
        };
        objects.put("b", "photos/cat.png", object).unwrap();
        let summary = process_event(&created("photos/cat.png"), &objects);
        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
        assert_eq!(
            summary.processed[0].details,
            Some(
                json!({"width": 400, "height": 200, "thumbnail": "thumbnails/photos/cat.png",
                        "thumbnailWidth": 128, "thumbnailHeight": 64})
            )
        );
        let thumb = objects.get("b", "thumbnails/photos/cat.png").unwrap();
        assert_eq!(thumb.content_type.as_deref(), Some("image/png"));
        let decoded = image::load_from_memory(&thumb.body).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (128, 64));
        // Its own notification is skipped, not thumbnailed again.
        let again = process_event(&created("thumbnails/photos/cat.png"), &objects);
        assert_eq!(again.processed[0].action, "skipped");
    }

    #[test]
    fn the_content_type_decides_before_the_extension() {
        let objects = Memory::default();
        let doc = |ct: Option<&str>, body: &str| Object {
            content_type: ct.map(str::to_string),
            body: body.as_bytes().to_vec(),
        };
        objects
            .put(
                "b",
                "data.bin",
                doc(Some("application/json"), r#"{"a":1,"b":2}"#),
            )
            .unwrap();
        objects
            .put(
                "b",
                "rows.csv",
                doc(Some("binary/octet-stream"), "a,b\n1,2\n3,4\n"),
            )
            .unwrap();
        objects
            .put("b", "bad.json", doc(Some("application/json"), "{"))
            .unwrap();
        objects
            .put("b", "fake.png", doc(Some("image/png"), "not an image"))
            .unwrap();
        let mut event = created("data.bin");
        for key in ["rows.csv", "bad.json", "fake.png", "missing.txt"] {
            event.records.extend(created(key).records);
        }
        let summary = process_event(&event, &objects);
        assert_eq!(summary.processed[0].details, Some(json!({"entries": 2})));
        assert_eq!(summary.processed[1].details, Some(json!({"rows": 3})));
        let failed: Vec<_> = summary.failed.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(failed, ["bad.json", "fake.png", "missing.txt"]);
    }

    #[test]
    fn dispatch_is_by_extension() {
        assert_eq!(processor_for("a/b/c.PNG"), Some("image"));
        assert_eq!(processor_for("report.csv"), Some("csv"));
        assert_eq!(processor_for("archive.zip"), None);
        assert_eq!(processor_for("README"), None);
    }
}
