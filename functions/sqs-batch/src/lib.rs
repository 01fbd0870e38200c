//! Processes an SQS batch with partial batch failure reporting.
//!
//! Each message body is JSON, `{"type": ..., "data": {...}}`, the shape
//! the guide's producers send:
//!
//! | type                 | `data` needs                   |
//! |----------------------|--------------------------------|
//! | `user-registration`  | `email` (with an `@`)          |
//! | `order-processing`   | `orderId`, `amount` > 0        |
//! | `email-notification` | `to`, `subject`                |
//!
//! A message that is not JSON, has an unknown type or misses what its type
//! needs fails on its own: the response's `batchItemFailures` names exactly
//! those message ids, so SQS redelivers only them (the event source mapping
//! needs `functionResponseType: ReportBatchItemFailures`).

use serde::Deserialize;
use wasmfn_guest::events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use wasmfn_guest::{Context, Error};

/// A message body: its `type`, and its fields under `data`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", content = "data", rename_all = "kebab-case")]
pub enum Message {
    /// A new user signed up.
    #[serde(rename_all = "camelCase")]
    UserRegistration {
        /// Their email address.
        email: String,
    },
    /// An order to fulfil.
    #[serde(rename_all = "camelCase")]
    OrderProcessing {
        /// The order.
        order_id: String,
        /// Its total.
        amount: f64,
    },
    /// An email to send.
    #[serde(rename_all = "camelCase")]
    EmailNotification {
        /// The recipient.
        to: String,
        /// The subject line.
        subject: String,
    },
}

/// Handles one batch.
#[wasmfn_guest::handler]
pub fn handler(event: SqsEvent, _ctx: Context) -> Result<SqsBatchResponse, Error> {
    Ok(wasmfn_guest::batch::sqs(&event, process))
}

/// Handles one message.
pub fn process(message: &SqsMessage) -> Result<(), Error> {
    let body = message.body.as_deref().unwrap_or("");
    let parsed: Message = serde_json::from_str(body).map_err(|e| {
        Error::new(
            "InvalidMessage",
            format!("the body is not a known message type: {e}"),
        )
    })?;
    let id = message.message_id.as_deref().unwrap_or("");
    match parsed {
        Message::UserRegistration { email } => {
            if !email.contains('@') {
                return Err(Error::new(
                    "InvalidMessage",
                    format!("`{email}` is not an email address"),
                ));
            }
            log::info!(messageId = id, email = email.as_str(); "user registered");
        }
        Message::OrderProcessing { order_id, amount } => {
            if amount <= 0.0 {
                return Err(Error::new(
                    "InvalidMessage",
                    format!("order {order_id}: amount must be positive, not {amount}"),
                ));
            }
            log::info!(messageId = id, orderId = order_id.as_str(), amount = amount; "order processed");
        }
        Message::EmailNotification { to, subject } => {
            log::info!(messageId = id, to = to.as_str(), subject = subject.as_str(); "email queued");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    #[test]
    fn exactly_the_failed_messages_are_reported() {
        let mut event = SqsEvent::default();
        event.records = vec![
            message(
                "1",
                r#"{"type":"user-registration","data":{"email":"a@b.c"}}"#,
            ),
            message(
                "2",
                r#"{"type":"order-processing","data":{"orderId":"o1","amount":0}}"#,
            ),
            message(
                "3",
                r#"{"type":"email-notification","data":{"to":"a@b.c","subject":"hi"}}"#,
            ),
            message("4", r#"{"type":"refund","data":{}}"#),
            message("5", "not json"),
        ];
        let response = handler(event, Context::for_test("sqs-batch")).unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["2", "4", "5"]);
    }
}
