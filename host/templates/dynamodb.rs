//! {{name}}: reacts to a DynamoDB stream, reporting only the failed
//! records (`functionResponseType: ReportBatchItemFailures`).

use wasmfn_guest::events::dynamodb::Event;
use wasmfn_guest::events::streams::DynamoDbEventResponse;
use wasmfn_guest::{Context, Error};

/// Logs each change with its new image as plain JSON.
#[wasmfn_guest::handler]
pub fn handler(event: Event, _ctx: Context) -> Result<DynamoDbEventResponse, Error> {
    Ok(wasmfn_guest::batch::dynamodb(&event, |record| {
        let new: Option<serde_json::Value> = wasmfn_guest::dynamodb::new_image(record)?;
        log::info!(event = record.event_name.as_str(); "change: {}", new.unwrap_or_default());
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_batch_has_no_failures() {
        let response = handler(Event::default(), Context::for_test("{{name}}")).unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
}
