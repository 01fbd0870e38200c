//! The Lambda hello world: answers any event with an API Gateway proxy
//! response carrying a greeting, the time and the request id.

use std::time::SystemTime;

use serde_json::{json, Value};
use wasmfn_guest::{Context, Error};

/// Greets the caller; `?name=` (API Gateway query string) picks whom.
#[wasmfn_guest::handler]
pub fn handler(event: Value, ctx: Context) -> Result<Value, Error> {
    let name = event
        .pointer("/queryStringParameters/name")
        .and_then(Value::as_str)
        .unwrap_or("world");
    let body = json!({
        "message": format!("Hello, {name}! Your function executed successfully."),
        "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "requestId": ctx.request_id,
    });
    Ok(json!({
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": "*",
        },
        "body": body.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_by_name() {
        let event = json!({"queryStringParameters": {"name": "Ada"}});
        let response = handler(event, Context::for_test("hello")).unwrap();
        assert_eq!(response["statusCode"], 200);
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert!(body["message"].as_str().unwrap().starts_with("Hello, Ada!"));
        assert_eq!(body["requestId"], "00000000-0000-0000-0000-000000000000");
    }
}
