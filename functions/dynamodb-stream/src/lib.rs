//! Reacts to a DynamoDB Streams batch from a `users` table.
//!
//! * `INSERT`: a user was created;
//! * `MODIFY`: a user changed; a change of the `status` attribute is
//!   detected and logged as such (the hook for "send the welcome email when
//!   status becomes active");
//! * `REMOVE`: a user was deleted.
//!
//! Each record is handled on its own: one that cannot be read (an image
//! without an `id`, an unknown event name) is reported in
//! `batchItemFailures` by its sequence number, and the others go through.

use serde::Deserialize;
use wasmfn_guest::dynamodb::{new_image, old_image};
use wasmfn_guest::events::dynamodb::{Event, EventRecord};
use wasmfn_guest::events::streams::DynamoDbEventResponse;
use wasmfn_guest::{Context, Error};

/// The part of a user item this function reads.
#[derive(Debug, Deserialize, PartialEq)]
pub struct User {
    /// The partition key.
    pub id: String,
    /// The account status (`pending`, `active`, `suspended`, ...).
    #[serde(default)]
    pub status: Option<String>,
}

/// What a record meant.
#[derive(Debug, PartialEq)]
pub enum Change {
    /// A new user.
    Created(User),
    /// A changed user; `Some((old, new))` when the status changed.
    Modified {
        /// The user's id.
        id: String,
        /// The status before and after, if it changed.
        status: Option<(Option<String>, Option<String>)>,
    },
    /// A deleted user.
    Removed(User),
}

/// Handles one batch.
#[wasmfn_guest::handler]
pub fn handler(event: Event, _ctx: Context) -> Result<DynamoDbEventResponse, Error> {
    Ok(wasmfn_guest::batch::dynamodb(&event, |record| {
        match classify(record)? {
            Change::Created(user) => log::info!(id = user.id.as_str(); "user created"),
            Change::Modified {
                id,
                status: Some((old, new)),
            } => log::info!(
                id = id.as_str(),
                from = old.as_deref().unwrap_or("none"),
                to = new.as_deref().unwrap_or("none");
                "status changed"
            ),
            Change::Modified { id, status: None } => log::info!(id = id.as_str(); "user modified"),
            Change::Removed(user) => log::info!(id = user.id.as_str(); "user removed"),
        }
        Ok(())
    }))
}

/// Reads one record.
pub fn classify(record: &EventRecord) -> Result<Change, Error> {
    let missing = |which: &str| {
        Error::new(
            "InvalidRecord",
            format!("{} record without {which}", record.event_name),
        )
    };
    Ok(match record.event_name.as_str() {
        "INSERT" => Change::Created(new_image(record)?.ok_or_else(|| missing("NewImage"))?),
        "MODIFY" => {
            let old: User = old_image(record)?.ok_or_else(|| missing("OldImage"))?;
            let new: User = new_image(record)?.ok_or_else(|| missing("NewImage"))?;
            Change::Modified {
                status: (old.status != new.status).then_some((old.status, new.status)),
                id: new.id,
            }
        }
        "REMOVE" => Change::Removed(old_image(record)?.ok_or_else(|| missing("OldImage"))?),
        other => {
            return Err(Error::new(
                "InvalidRecord",
                format!("unknown event name `{other}`"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str, old: serde_json::Value, new: serde_json::Value) -> EventRecord {
        serde_json::from_value(json!({
            "eventID": "1", "eventName": name, "awsRegion": "us-east-1",
            "dynamodb": {"SizeBytes": 10, "SequenceNumber": "100", "OldImage": old, "NewImage": new}
        }))
        .unwrap()
    }

    #[test]
    fn a_status_change_is_detected() {
        let r = record(
            "MODIFY",
            json!({"id": {"S": "u1"}, "status": {"S": "pending"}}),
            json!({"id": {"S": "u1"}, "status": {"S": "active"}}),
        );
        assert_eq!(
            classify(&r).unwrap(),
            Change::Modified {
                id: "u1".into(),
                status: Some((Some("pending".into()), Some("active".into())))
            }
        );
    }

    #[test]
    fn other_modifications_are_not_status_changes() {
        let r = record(
            "MODIFY",
            json!({"id": {"S": "u1"}, "status": {"S": "active"}, "n": {"N": "1"}}),
            json!({"id": {"S": "u1"}, "status": {"S": "active"}, "n": {"N": "2"}}),
        );
        assert!(matches!(
            classify(&r).unwrap(),
            Change::Modified { status: None, .. }
        ));
    }
}
