//! Partial batch responses for SQS, Kinesis and DynamoDB Streams.
//!
//! With `ReportBatchItemFailures` on the event source mapping, a function
//! returns `{"batchItemFailures": [{"itemIdentifier": ...}]}` naming just
//! the records that failed; Lambda deletes (or checkpoints past) the rest
//! and retries only those. These helpers run a closure per record, keep
//! going after a failure, log each failure with its id, and build the
//! response type `aws_lambda_events` defines for the source.
//!
//! ```
//! # #[cfg(feature = "sqs")] {
//! use wasmfn_guest::events::sqs::{SqsEvent, SqsMessage};
//! use wasmfn_guest::Error;
//!
//! let mut event = SqsEvent::default();
//! for (id, body) in [("1", "ok"), ("2", "bad"), ("3", "ok")] {
//!     let mut m = SqsMessage::default();
//!     m.message_id = Some(id.into());
//!     m.body = Some(body.into());
//!     event.records.push(m);
//! }
//! let response = wasmfn_guest::batch::sqs(&event, |m| match m.body.as_deref() {
//!     Some("ok") => Ok(()),
//!     _ => Err(Error::msg("cannot process")),
//! });
//! let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
//! assert_eq!(failed, ["2"]);
//! # }
//! ```
//!
//! For Kinesis and DynamoDB Streams, Lambda restarts from the lowest failed
//! sequence number, so records after a failure may be seen again: stream
//! handlers must be idempotent, as on Lambda.

use crate::Error;

/// Runs `f` on every record and returns the identifiers of those that
/// failed, in order. A record without an identifier reports `""`, which
/// Lambda reads as "the whole batch failed": the safe outcome.
pub fn process<R>(
    records: &[R],
    id: impl Fn(&R) -> Option<&str>,
    mut f: impl FnMut(&R) -> Result<(), Error>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for record in records {
        if let Err(e) = f(record) {
            let id = id(record).unwrap_or("");
            log::warn!("record {id:?} failed: {e}");
            failures.push(id.to_string());
        }
    }
    failures
}

/// Processes an SQS batch; the response names the failed message ids.
#[cfg(feature = "sqs")]
pub fn sqs(
    event: &aws_lambda_events::sqs::SqsEvent,
    f: impl FnMut(&aws_lambda_events::sqs::SqsMessage) -> Result<(), Error>,
) -> aws_lambda_events::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::sqs::SqsBatchResponse::default();
    response.set_failures(process(&event.records, |m| m.message_id.as_deref(), f));
    response
}

/// Processes a Kinesis batch; the response names the failed sequence numbers.
#[cfg(feature = "kinesis")]
pub fn kinesis(
    event: &aws_lambda_events::kinesis::KinesisEvent,
    f: impl FnMut(&aws_lambda_events::kinesis::KinesisEventRecord) -> Result<(), Error>,
) -> aws_lambda_events::streams::KinesisEventResponse {
    let mut response = aws_lambda_events::streams::KinesisEventResponse::default();
    response.set_failures(process(
        &event.records,
        |r| Some(r.kinesis.sequence_number.as_str()),
        f,
    ));
    response
}

/// Processes a DynamoDB Streams batch; the response names the failed
/// records' sequence numbers.
#[cfg(feature = "dynamodb")]
pub fn dynamodb(
    event: &aws_lambda_events::dynamodb::Event,
    f: impl FnMut(&aws_lambda_events::dynamodb::EventRecord) -> Result<(), Error>,
) -> aws_lambda_events::streams::DynamoDbEventResponse {
    use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
    let mut response = DynamoDbEventResponse::default();
    for id in process(&event.records, |r| r.change.sequence_number.as_deref(), f) {
        // #[non_exhaustive]: built from the default.
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(id);
        response.batch_item_failures.push(failure);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_runs_and_only_failures_are_reported() {
        let records = [("a", true), ("b", false), ("c", true), ("d", false)];
        let mut seen = 0;
        let failed = process(
            &records,
            |r| Some(r.0),
            |r| {
                seen += 1;
                if r.1 {
                    Ok(())
                } else {
                    Err(Error::msg("no"))
                }
            },
        );
        assert_eq!(seen, 4);
        assert_eq!(failed, ["b", "d"]);
    }

    #[cfg(feature = "kinesis")]
    #[test]
    fn kinesis_failures_are_named_by_sequence_number() {
        let records: Vec<serde_json::Value> = [1, 2, 3]
            .map(|n| {
                serde_json::json!({
                    "kinesis": {"sequenceNumber": format!("seq-{n}"), "partitionKey": "p", "data": "",
                                "approximateArrivalTimestamp": 1.0, "kinesisSchemaVersion": "1.0"},
                    "eventSource": "aws:kinesis", "eventID": format!("e{n}"),
                    "eventName": "aws:kinesis:record", "awsRegion": "us-east-1"
                })
            })
            .to_vec();
        let event: aws_lambda_events::kinesis::KinesisEvent =
            serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        let response = kinesis(&event, |r| {
            if r.kinesis.sequence_number == "seq-2" {
                Err(Error::msg("poison"))
            } else {
                Ok(())
            }
        });
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_deref())
            .collect();
        assert_eq!(failed, [Some("seq-2")]);
    }
}
