//! `hello` (functions/hello) as a native Rust Lambda function on
//! `lambda_runtime`, built with the same `lambda` profile as wasmfn's
//! bootstrap: the floor that `benches/init_duration.py` measures wasmfn's
//! start against.

use std::time::SystemTime;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let name = event
        .payload
        .pointer("/queryStringParameters/name")
        .and_then(Value::as_str)
        .unwrap_or("world");
    let body = json!({
        "message": format!("Hello, {name}! Your function executed successfully."),
        "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "requestId": event.context.request_id,
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

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}
