//! {{name}}: runs on a schedule (an EventBridge rule).

use wasmfn_guest::events::eventbridge::EventBridgeEvent;
use wasmfn_guest::{Context, Error};

/// Does the periodic job; the event says when the rule fired.
#[wasmfn_guest::handler]
pub fn handler(event: EventBridgeEvent, ctx: Context) -> Result<serde_json::Value, Error> {
    let rule = event.resources.as_ref().and_then(|r| r.first()).map_or("", String::as_str);
    log::info!(rule = rule; "scheduled run");
    Ok(serde_json::json!({
        "ran": true,
        "firedAt": event.time.map(|t| t.to_rfc3339()),
        "remainingMs": ctx.remaining_time().as_millis() as u64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs() {
        let out = handler(EventBridgeEvent::default(), Context::for_test("{{name}}")).unwrap();
        assert_eq!(out["ran"], true);
    }
}
