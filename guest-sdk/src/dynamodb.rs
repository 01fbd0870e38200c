//! DynamoDB Streams images as plain values.
//!
//! A stream record's `Keys`, `NewImage` and `OldImage` arrive in DynamoDB's
//! typed JSON (`{"name": {"S": "Ada"}, "age": {"N": "36"}}`). These helpers
//! turn an image into a user struct or a plain `serde_json::Value`
//! (`{"name": "Ada", "age": 36}`), through `serde_dynamo`.
//!
//! ```
//! use serde::Deserialize;
//! use wasmfn_guest::events::dynamodb::EventRecord;
//!
//! #[derive(Deserialize)]
//! struct User { name: String, age: u32 }
//!
//! let record: EventRecord = serde_json::from_value(serde_json::json!({
//!     "eventID": "1", "eventName": "INSERT", "awsRegion": "us-east-1",
//!     "dynamodb": {
//!         "SizeBytes": 26,
//!         "NewImage": {"name": {"S": "Ada"}, "age": {"N": "36"}}
//!     }
//! })).unwrap();
//! let user: User = wasmfn_guest::dynamodb::new_image(&record).unwrap().unwrap();
//! assert_eq!((user.name.as_str(), user.age), ("Ada", 36));
//! ```

use serde::de::DeserializeOwned;

use aws_lambda_events::dynamodb::EventRecord;
pub use serde_dynamo::Item;

use crate::Error;

/// `item` as a `T`. The error names `T` and what did not fit.
pub fn from_image<T: DeserializeOwned>(item: &Item) -> Result<T, Error> {
    serde_dynamo::from_item(item.clone()).map_err(|e| {
        Error::new(
            "DynamoDbImageError",
            format!(
                "the image does not fit `{}`: {e}",
                std::any::type_name::<T>()
            ),
        )
    })
}

/// `item` as a plain JSON value (numbers as numbers, sets as arrays).
pub fn to_json(item: &Item) -> Result<serde_json::Value, Error> {
    from_image(item)
}

/// The record's `NewImage` as a `T`; `None` when the record has none
/// (a `REMOVE`, or a stream view without new images).
pub fn new_image<T: DeserializeOwned>(record: &EventRecord) -> Result<Option<T>, Error> {
    image(&record.change.new_image)
}

/// The record's `OldImage` as a `T`; `None` when the record has none
/// (an `INSERT`, or a stream view without old images).
pub fn old_image<T: DeserializeOwned>(record: &EventRecord) -> Result<Option<T>, Error> {
    image(&record.change.old_image)
}

/// The record's `Keys` as a `T`.
pub fn keys<T: DeserializeOwned>(record: &EventRecord) -> Result<T, Error> {
    from_image(&record.change.keys)
}

fn image<T: DeserializeOwned>(item: &Item) -> Result<Option<T>, Error> {
    if item.is_empty() {
        Ok(None)
    } else {
        from_image(item).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_become_plain_json() {
        let record: EventRecord = serde_json::from_value(serde_json::json!({
            "eventID": "1",
            "eventName": "MODIFY",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "SizeBytes": 64,
                "Keys": {"id": {"S": "u1"}},
                "OldImage": {"id": {"S": "u1"}, "status": {"S": "pending"}},
                "NewImage": {"id": {"S": "u1"}, "status": {"S": "active"}, "tags": {"SS": ["a"]}, "n": {"N": "2.5"}}
            }
        }))
        .unwrap();
        let new: serde_json::Value = new_image(&record).unwrap().unwrap();
        assert_eq!(
            new,
            serde_json::json!({"id": "u1", "status": "active", "tags": ["a"], "n": 2.5})
        );
        let old: serde_json::Value = old_image(&record).unwrap().unwrap();
        assert_eq!(old["status"], "pending");
        let keys: serde_json::Value = keys(&record).unwrap();
        assert_eq!(keys, serde_json::json!({"id": "u1"}));
        let err = from_image::<u32>(&record.change.keys).unwrap_err();
        assert!(err.message().contains("u32"), "{err}");
    }
}
