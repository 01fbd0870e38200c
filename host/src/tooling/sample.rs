//! Realistic sample events, for benchmarks and for trying functions out.

use serde_json::{json, Value};

/// An API Gateway REST (payload v1) proxy event for `GET /hello`, as API
/// Gateway sends it, with `body` as given.
pub fn api_gateway_v1(body: &str) -> Value {
    json!({
        "resource": "/hello",
        "path": "/hello",
        "httpMethod": "GET",
        "headers": {
            "Accept": "application/json",
            "Host": "abc123.execute-api.us-east-1.amazonaws.com",
            "User-Agent": "curl/8.5.0",
            "X-Amzn-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e4b3c1",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https"
        },
        "multiValueHeaders": {},
        "queryStringParameters": {"name": "wasmfn"},
        "multiValueQueryStringParameters": {"name": ["wasmfn"]},
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "httpMethod": "GET",
            "path": "/dev/hello",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1_700_000_000_000u64,
            "resourceId": "123456",
            "resourcePath": "/hello",
            "stage": "dev",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"}
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// An API Gateway v1 event whose JSON text is `size` bytes long (the body
/// is padded to fit; at least the empty-body event's size).
pub fn api_gateway_v1_of_size(size: usize) -> Vec<u8> {
    let base = serde_json::to_vec(&api_gateway_v1("")).expect("serializable");
    if size <= base.len() {
        // Smaller than a full event: a minimal one, padded.
        let minimal = json!({"path": "/hello", "httpMethod": "GET", "body": ""});
        let len = serde_json::to_vec(&minimal).expect("serializable").len();
        let pad = "x".repeat(size.saturating_sub(len));
        let event = json!({"path": "/hello", "httpMethod": "GET", "body": pad});
        return serde_json::to_vec(&event).expect("serializable");
    }
    let pad = "x".repeat(size - base.len());
    serde_json::to_vec(&api_gateway_v1(&pad)).expect("serializable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_size_asked_for() {
        for size in [100, 1024, 64 << 10, 1 << 20] {
            assert_eq!(api_gateway_v1_of_size(size).len(), size);
        }
    }
}
