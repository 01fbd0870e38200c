//! {{name}}: processes SQS messages, reporting only the failed ones
//! (`functionResponseType: ReportBatchItemFailures`).

use wasmfn_guest::events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use wasmfn_guest::{Context, Error};

/// Processes each message; the failed ones go back to the queue.
#[wasmfn_guest::handler]
pub fn handler(event: SqsEvent, _ctx: Context) -> Result<SqsBatchResponse, Error> {
    Ok(wasmfn_guest::batch::sqs(&event, process))
}

fn process(message: &SqsMessage) -> Result<(), Error> {
    let body: serde_json::Value = serde_json::from_str(message.body.as_deref().unwrap_or(""))?;
    log::info!(messageId = message.message_id.as_deref().unwrap_or(""); "processed {body}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_that_is_not_json_fails_alone() {
        let mut good = SqsMessage::default();
        good.message_id = Some("1".into());
        good.body = Some("{}".into());
        let mut bad = good.clone();
        bad.message_id = Some("2".into());
        bad.body = Some("nope".into());
        let mut event = SqsEvent::default();
        event.records = vec![good, bad];
        let response = handler(event, Context::for_test("{{name}}")).unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(response.batch_item_failures[0].item_identifier, "2");
    }
}
