//! API Gateway's proxy mapping, both ways: a plain HTTP request becomes a
//! REST API (payload 1.0) or HTTP API / Function URL (payload 2.0) event, and
//! the function's proxy response becomes the HTTP response.
//!
//! Everything here is a pure function of its input, so that it can be
//! tested and fuzzed without a server.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::aws::LOCAL_ACCOUNT_ID;

use crate::trigger::apigw::router::decode;

/// An HTTP request as the server received it.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// Upper-case method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string, without `?`.
    pub raw_query: String,
    /// Headers in arrival order, names as received.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The client's address.
    pub source_ip: String,
}

/// An HTTP response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, possibly repeated (e.g. `set-cookie`).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The response to send; an error if the function returned a header
    /// HTTP cannot carry (API Gateway answers 502 for it).
    pub fn into_response(self) -> Result<http::Response<crate::trigger::Body>, http::Error> {
        let mut builder = http::Response::builder().status(self.status);
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder.body(crate::trigger::full(self.body))
    }
}

impl HttpRequest {
    /// The last header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as API Gateway passes it: text when it is UTF-8 of a textual
    /// content type, base64 otherwise.
    fn body_field(&self) -> (Value, bool) {
        if self.body.is_empty() {
            return (Value::Null, false);
        }
        let textual = self.header("content-type").is_none_or(is_textual);
        match std::str::from_utf8(&self.body) {
            Ok(text) if textual => (Value::String(text.to_string()), false),
            _ => (
                Value::String(base64::engine::general_purpose::STANDARD.encode(&self.body)),
                true,
            ),
        }
    }

    /// Query parameters in order, decoded (`+` is a space in a query).
    fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
            })
            .collect()
    }
}

fn is_textual(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("javascript")
        || ct.contains("x-www-form-urlencoded")
        || ct.contains("yaml")
}

fn null_if_empty(map: Map<String, Value>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

fn params_value(params: &std::collections::HashMap<String, String>) -> Value {
    null_if_empty(
        params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The payload 1.0 event (REST API proxy integration).
pub fn to_v1_event(
    req: &HttpRequest,
    resource: &str,
    params: &std::collections::HashMap<String, String>,
    stage: &str,
    request_id: &str,
) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in &req.headers {
        headers.insert(k.clone(), Value::String(v.clone()));
        multi_headers
            .entry(k.clone())
            .or_default()
            .push(Value::String(v.clone()));
    }
    let mut query = Map::new();
    let mut multi_query: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in req.query_pairs() {
        query.insert(k.clone(), Value::String(v.clone()));
        multi_query.entry(k).or_default().push(Value::String(v));
    }
    let (body, is_base64) = req.body_field();
    let now = epoch_ms();
    json!({
        "resource": resource,
        "path": req.path,
        "httpMethod": req.method,
        "headers": null_if_empty(headers),
        "multiValueHeaders": null_if_empty(multi_headers.into_iter().map(|(k, v)| (k, Value::Array(v))).collect()),
        "queryStringParameters": null_if_empty(query),
        "multiValueQueryStringParameters": null_if_empty(multi_query.into_iter().map(|(k, v)| (k, Value::Array(v))).collect()),
        "pathParameters": params_value(params),
        "stageVariables": null,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "wasmfn",
            "domainName": req.header("host").unwrap_or("localhost"),
            "httpMethod": req.method,
            "path": format!("/{stage}{}", req.path),
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": now,
            "resourceId": "wasmfn",
            "resourcePath": resource,
            "stage": stage,
            "identity": {
                "sourceIp": req.source_ip,
                "userAgent": req.header("user-agent"),
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// The payload 2.0 event (HTTP API, Function URL).
pub fn to_v2_event(
    req: &HttpRequest,
    route_key: &str,
    params: &std::collections::HashMap<String, String>,
    stage: &str,
    request_id: &str,
) -> Value {
    // Payload 2.0 lower-cases header names and joins repeats with commas;
    // cookies get their own array.
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (k, v) in &req.headers {
        let k = k.to_ascii_lowercase();
        if k == "cookie" {
            cookies.extend(v.split(';').map(|c| Value::String(c.trim().to_string())));
            continue;
        }
        headers
            .entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in req.query_pairs() {
        query
            .entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let (body, is_base64) = req.body_field();
    let now = epoch_ms();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "wasmfn",
            "domainName": req.header("host").unwrap_or("localhost"),
            "domainPrefix": "wasmfn",
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": req.header("user-agent").unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            "timeEpoch": now,
        },
        "isBase64Encoded": is_base64,
    });
    let obj = event.as_object_mut().expect("an object");
    if !cookies.is_empty() {
        obj.insert("cookies".into(), Value::Array(cookies));
    }
    if !query.is_empty() {
        obj.insert("queryStringParameters".into(), json!(query));
    }
    if !params.is_empty() {
        obj.insert("pathParameters".into(), params_value(params));
    }
    if !body.is_null() {
        obj.insert("body".into(), body);
    }
    event
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Maps a payload 1.0 proxy response. API Gateway answers 502 for anything
/// that is not an object with an integer `statusCode`; so does this (the
/// error says why, for the log).
pub fn from_v1_response(payload: &[u8]) -> Result<HttpResponse, String> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the function's response is not JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or("the function's response is not a JSON object")?;
    structured(obj)
}

/// Maps a payload 2.0 response: a proxy response object when it has a
/// `statusCode`, otherwise any JSON value, returned as a 200 JSON body
/// (HTTP API's "inferred" format).
pub fn from_v2_response(payload: &[u8]) -> Result<HttpResponse, String> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the function's response is not JSON: {e}"))?;
    match value.as_object() {
        Some(obj) if obj.contains_key("statusCode") => structured(obj),
        _ => Ok(HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: match &value {
                // A bare string is the body itself.
                Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            },
        }),
    }
}

fn structured(obj: &Map<String, Value>) -> Result<HttpResponse, String> {
    let status = obj
        .get("statusCode")
        .and_then(|s| {
            s.as_u64()
                .or_else(|| s.as_str().and_then(|s| s.parse().ok()))
        })
        .ok_or("the proxy response has no integer `statusCode`")?;
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| format!("`statusCode` {status} is not an HTTP status"))?;
    let mut headers = Vec::new();
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    if let Some(h) = obj.get("headers").filter(|h| !h.is_null()) {
        let h = h.as_object().ok_or("`headers` is not an object")?;
        for (k, v) in h {
            let v = scalar(v).ok_or_else(|| format!("header `{k}` is not a string"))?;
            headers.push((k.clone(), v));
        }
    }
    if let Some(h) = obj.get("multiValueHeaders").filter(|h| !h.is_null()) {
        let h = h
            .as_object()
            .ok_or("`multiValueHeaders` is not an object")?;
        for (k, vs) in h {
            let vs = vs
                .as_array()
                .ok_or_else(|| format!("multi-value header `{k}` is not a list"))?;
            // Values here override the single-value header of that name.
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
            for v in vs {
                let v = scalar(v).ok_or_else(|| format!("header `{k}` has a non-string value"))?;
                headers.push((k.clone(), v));
            }
        }
    }
    if let Some(cookies) = obj.get("cookies").filter(|c| !c.is_null()) {
        for c in cookies.as_array().ok_or("`cookies` is not a list")? {
            let c = c.as_str().ok_or("a cookie is not a string")?;
            headers.push(("set-cookie".into(), c.to_string()));
        }
    }
    let is_base64 = obj
        .get("isBase64Encoded")
        .is_some_and(|b| b.as_bool().unwrap_or(false));
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if is_base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("`body` is marked base64 but is not: {e}"))?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => return Err(format!("`body` must be a string, not {other}")),
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn request() -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/items/42".into(),
            raw_query: "tag=a&tag=b+c&q=%2Fx".into(),
            headers: vec![
                ("Host".into(), "localhost:9000".into()),
                ("Content-Type".into(), "application/octet-stream".into()),
                ("Cookie".into(), "a=1; b=2".into()),
            ],
            body: vec![0, 159, 146, 150],
            source_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn v1_event_carries_multi_values_params_and_binary_bodies() {
        let params = HashMap::from([("id".to_string(), "42".to_string())]);
        let e = to_v1_event(&request(), "/items/{id}", &params, "dev", "r1");
        assert_eq!(e["queryStringParameters"]["tag"], "b c");
        assert_eq!(
            e["multiValueQueryStringParameters"]["tag"],
            json!(["a", "b c"])
        );
        assert_eq!(e["queryStringParameters"]["q"], "/x");
        assert_eq!(e["pathParameters"]["id"], "42");
        assert_eq!(e["resource"], "/items/{id}");
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], "AJ+Slg==");
        assert_eq!(e["requestContext"]["path"], "/dev/items/42");
    }

    #[test]
    fn v2_event_joins_repeats_and_splits_cookies() {
        let e = to_v2_event(
            &request(),
            "POST /items/{id}",
            &HashMap::new(),
            "$default",
            "r1",
        );
        assert_eq!(e["queryStringParameters"]["tag"], "a,b c");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["headers"]["host"], "localhost:9000");
        assert_eq!(e["rawQueryString"], "tag=a&tag=b+c&q=%2Fx");
        assert!(e.get("pathParameters").is_none());
    }

    #[test]
    fn proxy_responses_map_back() {
        let r = from_v1_response(
            br#"{"statusCode":201,"headers":{"X-A":"1"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"aGk=","isBase64Encoded":true}"#,
        )
        .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"hi");
        assert_eq!(
            r.headers.iter().filter(|(k, _)| k == "Set-Cookie").count(),
            2
        );
        let r = from_v2_response(br#"{"statusCode":200,"cookies":["c=3"],"body":"x"}"#).unwrap();
        assert_eq!(
            r.headers,
            vec![("set-cookie".to_string(), "c=3".to_string())]
        );
        let r = from_v2_response(br#"{"hello":"world"}"#).unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &br#"{"hello":"world"}"#[..])
        );
    }

    #[test]
    fn malformed_proxy_responses_are_rejected_with_a_reason() {
        for bad in [
            &b"not json"[..],
            b"[1]",
            br#"{"body":"x"}"#,
            br#"{"statusCode":99}"#,
            br#"{"statusCode":200,"body":5}"#,
        ] {
            assert!(
                from_v1_response(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
