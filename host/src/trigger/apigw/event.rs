//! API Gateway's proxy events: a plain HTTP request becomes a REST API
//! (payload 1.0) or HTTP API / Function URL (payload 2.0) event.
//!
//! The events are serialized straight from borrowed views of the request
//! (its header map, its body bytes), with no JSON tree in between: this is
//! on every routed request's path.
//!
//! Everything here is a pure function of its input, so that it can be
//! tested and fuzzed without a server.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{GetAll, COOKIE};
use http::{HeaderMap, HeaderValue, Method};
use serde::{Serialize, Serializer};

use crate::aws::LOCAL_ACCOUNT_ID;

use crate::trigger::apigw::router::decode;

/// An HTTP request as the server received it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The path, without the query string.
    pub path: String,
    /// The query string, without `?`.
    pub raw_query: String,
    /// The headers, names lower-cased (as HTTP/1.1 servers receive them).
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
    /// The client's address.
    pub source_ip: IpAddr,
}

impl HttpRequest {
    /// The last header called `name`.
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.headers.get_all(name).iter().next_back().map(text)
    }

    /// The body as API Gateway passes it: text when it is UTF-8 of a textual
    /// content type, base64 otherwise; and whether it is base64.
    fn body_field(&self) -> (Option<Cow<'_, str>>, bool) {
        if self.body.is_empty() {
            return (None, false);
        }
        let textual = self.header("content-type").is_none_or(|ct| is_textual(&ct));
        match std::str::from_utf8(&self.body) {
            Ok(text) if textual => (Some(Cow::Borrowed(text)), false),
            _ => (
                Some(Cow::Owned(
                    base64::engine::general_purpose::STANDARD.encode(&self.body),
                )),
                true,
            ),
        }
    }

    /// Query parameters in order, decoded (`+` is a space in a query).
    fn query_pairs(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode_query(k), decode_query(v))
            })
            .collect()
    }
}

/// A header value as text; bytes that are not UTF-8 become U+FFFD.
fn text(value: &HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

/// A query component, decoded; borrowed when there is nothing to decode.
fn decode_query(s: &str) -> Cow<'_, str> {
    if s.contains(['+', '%']) {
        Cow::Owned(decode(&s.replace('+', " ")))
    } else {
        Cow::Borrowed(s)
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

/// Query parameters grouped by name (names in order, each name's values in
/// arrival order).
type Grouped<'q> = BTreeMap<&'q str, Vec<&'q str>>;

fn grouped<'q>(pairs: &'q [(Cow<'_, str>, Cow<'_, str>)]) -> Grouped<'q> {
    let mut grouped = Grouped::new();
    for (k, v) in pairs {
        grouped.entry(k.as_ref()).or_default().push(v.as_ref());
    }
    grouped
}

/// Each header once, with its last value: payload 1.0's `headers`.
struct LastHeaders<'a>(&'a HeaderMap);

impl Serialize for LastHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .keys()
                .map(|k| (k.as_str(), self.0.get_all(k).iter().next_back().map(text))),
        )
    }
}

/// Each header with all its values: payload 1.0's `multiValueHeaders`.
struct AllHeaders<'a>(&'a HeaderMap);

struct Values<'a>(GetAll<'a, HeaderValue>);

impl Serialize for AllHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .keys()
                .map(|k| (k.as_str(), Values(self.0.get_all(k)))),
        )
    }
}

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(text))
    }
}

/// Each header but `cookie` once, repeats joined with commas: payload 2.0's
/// `headers`.
struct JoinedHeaders<'a>(&'a HeaderMap);

impl Serialize for JoinedHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .keys()
                .filter(|k| *k != COOKIE)
                .map(|k| (k.as_str(), joined(self.0.get_all(k).iter().map(text)))),
        )
    }
}

/// Values joined with commas; borrowed when there is one.
fn joined<'v>(mut values: impl Iterator<Item = Cow<'v, str>>) -> Cow<'v, str> {
    let first = values.next().unwrap_or_default();
    match values.next() {
        None => first,
        Some(second) => {
            let mut all = first.into_owned();
            for v in std::iter::once(second).chain(values) {
                all.push(',');
                all.push_str(&v);
            }
            Cow::Owned(all)
        }
    }
}

/// Each query parameter once, with its last value (payload 1.0).
struct LastQuery<'a, 'q>(&'a Grouped<'q>);

impl Serialize for LastQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, vs)| (k, vs.last())))
    }
}

/// Each query parameter once, repeats joined with commas (payload 2.0).
struct JoinedQuery<'a, 'q>(&'a Grouped<'q>);

impl Serialize for JoinedQuery<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                .map(|(k, vs)| (k, joined(vs.iter().map(|v| Cow::Borrowed(*v))))),
        )
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Event<'a> {
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Option<LastHeaders<'a>>,
    multi_value_headers: Option<AllHeaders<'a>>,
    query_string_parameters: Option<LastQuery<'a, 'a>>,
    multi_value_query_string_parameters: Option<&'a Grouped<'a>>,
    path_parameters: Option<&'a HashMap<String, String>>,
    stage_variables: Option<()>,
    request_context: V1Context<'a>,
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    domain_name: Cow<'a, str>,
    http_method: &'a str,
    path: String,
    protocol: &'a str,
    request_id: &'a str,
    request_time_epoch: u64,
    resource_id: &'a str,
    resource_path: &'a str,
    stage: &'a str,
    identity: V1Identity<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Identity<'a> {
    source_ip: IpAddr,
    user_agent: Option<Cow<'a, str>>,
}

/// The payload 1.0 event (REST API proxy integration), as JSON.
pub fn to_v1_event(
    req: &HttpRequest,
    resource: &str,
    params: &HashMap<String, String>,
    stage: &str,
    request_id: &str,
) -> Vec<u8> {
    let pairs = req.query_pairs();
    let query = grouped(&pairs);
    let (body, is_base64_encoded) = req.body_field();
    let has_headers = !req.headers.is_empty();
    let event = V1Event {
        resource,
        path: &req.path,
        http_method: req.method.as_str(),
        headers: has_headers.then_some(LastHeaders(&req.headers)),
        multi_value_headers: has_headers.then_some(AllHeaders(&req.headers)),
        query_string_parameters: (!query.is_empty()).then_some(LastQuery(&query)),
        multi_value_query_string_parameters: (!query.is_empty()).then_some(&query),
        path_parameters: (!params.is_empty()).then_some(params),
        stage_variables: None,
        request_context: V1Context {
            account_id: LOCAL_ACCOUNT_ID,
            api_id: "wasmfn",
            domain_name: req.header("host").unwrap_or(Cow::Borrowed("localhost")),
            http_method: req.method.as_str(),
            path: format!("/{stage}{}", req.path),
            protocol: "HTTP/1.1",
            request_id,
            request_time_epoch: epoch_ms(),
            resource_id: "wasmfn",
            resource_path: resource,
            stage,
            identity: V1Identity {
                source_ip: req.source_ip,
                user_agent: req.header("user-agent"),
            },
        },
        body,
        is_base64_encoded,
    };
    to_json(&event, req.body.len())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Event<'a> {
    version: &'a str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<&'a str>,
    headers: JoinedHeaders<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<JoinedQuery<'a, 'a>>,
    request_context: V2Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<&'a HashMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    domain_name: Cow<'a, str>,
    domain_prefix: &'a str,
    http: V2Http<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'a str,
    time: String,
    time_epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'a str,
    source_ip: IpAddr,
    user_agent: Cow<'a, str>,
}

/// The payload 2.0 event (HTTP API, Function URL), as JSON. Payload 2.0
/// joins repeated headers with commas and gives cookies their own array.
pub fn to_v2_event(
    req: &HttpRequest,
    route_key: &str,
    params: &HashMap<String, String>,
    stage: &str,
    request_id: &str,
) -> Vec<u8> {
    let cookie_headers: Vec<Cow<'_, str>> = req.headers.get_all(COOKIE).iter().map(text).collect();
    let cookies = cookie_headers
        .iter()
        .flat_map(|h| h.split(';').map(str::trim))
        .collect();
    let pairs = req.query_pairs();
    let query = grouped(&pairs);
    let (body, is_base64_encoded) = req.body_field();
    let event = V2Event {
        version: "2.0",
        route_key,
        raw_path: &req.path,
        raw_query_string: &req.raw_query,
        cookies,
        headers: JoinedHeaders(&req.headers),
        query_string_parameters: (!query.is_empty()).then_some(JoinedQuery(&query)),
        request_context: V2Context {
            account_id: LOCAL_ACCOUNT_ID,
            api_id: "wasmfn",
            domain_name: req.header("host").unwrap_or(Cow::Borrowed("localhost")),
            domain_prefix: "wasmfn",
            http: V2Http {
                method: req.method.as_str(),
                path: &req.path,
                protocol: "HTTP/1.1",
                source_ip: req.source_ip,
                user_agent: req.header("user-agent").unwrap_or_default(),
            },
            request_id,
            route_key,
            stage,
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            time_epoch: epoch_ms(),
        },
        path_parameters: (!params.is_empty()).then_some(params),
        body,
        is_base64_encoded,
    };
    to_json(&event, req.body.len())
}

/// The event's JSON, in a buffer sized for a typical event (~800 bytes)
/// plus the body's base64. It cannot fail: every map here has string keys
/// and every value serializes.
fn to_json(event: &impl Serialize, body_len: usize) -> Vec<u8> {
    let mut json = Vec::with_capacity(1024 + body_len / 3 * 4);
    serde_json::to_writer(&mut json, event).expect("an API Gateway event serializes");
    json
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn request() -> HttpRequest {
        let mut headers = HeaderMap::new();
        headers.append("host", HeaderValue::from_static("localhost:9000"));
        headers.append(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.append("cookie", HeaderValue::from_static("a=1; b=2"));
        headers.append("x-many", HeaderValue::from_static("1"));
        headers.append("x-many", HeaderValue::from_static("2"));
        HttpRequest {
            method: Method::POST,
            path: "/items/42".into(),
            raw_query: "tag=a&tag=b+c&q=%2Fx".into(),
            headers,
            body: Bytes::from_static(&[0, 159, 146, 150]),
            source_ip: IpAddr::from([127, 0, 0, 1]),
        }
    }

    fn parse(event: Vec<u8>) -> Value {
        serde_json::from_slice(&event).expect("an event is JSON")
    }

    #[test]
    fn v1_event_carries_multi_values_params_and_binary_bodies() {
        let params = HashMap::from([("id".to_string(), "42".to_string())]);
        let e = parse(to_v1_event(&request(), "/items/{id}", &params, "dev", "r1"));
        assert_eq!(e["queryStringParameters"]["tag"], "b c");
        assert_eq!(
            e["multiValueQueryStringParameters"]["tag"],
            json!(["a", "b c"])
        );
        assert_eq!(e["queryStringParameters"]["q"], "/x");
        assert_eq!(e["headers"]["x-many"], "2");
        assert_eq!(e["multiValueHeaders"]["x-many"], json!(["1", "2"]));
        assert_eq!(e["pathParameters"]["id"], "42");
        assert_eq!(e["resource"], "/items/{id}");
        assert_eq!(e["httpMethod"], "POST");
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], "AJ+Slg==");
        assert_eq!(e["stageVariables"], Value::Null);
        assert_eq!(e["requestContext"]["path"], "/dev/items/42");
        assert_eq!(e["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(e["requestContext"]["domainName"], "localhost:9000");
    }

    #[test]
    fn v1_event_without_headers_query_or_body_has_nulls() {
        let req = HttpRequest {
            method: Method::GET,
            path: "/".into(),
            raw_query: String::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            source_ip: IpAddr::from([127, 0, 0, 1]),
        };
        let e = parse(to_v1_event(&req, "/", &HashMap::new(), "dev", "r1"));
        for key in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "body",
        ] {
            assert_eq!(e[key], Value::Null, "{key}");
        }
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["requestContext"]["identity"]["userAgent"], Value::Null);
    }

    #[test]
    fn v2_event_joins_repeats_and_splits_cookies() {
        let e = parse(to_v2_event(
            &request(),
            "POST /items/{id}",
            &HashMap::new(),
            "$default",
            "r1",
        ));
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["queryStringParameters"]["tag"], "a,b c");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["headers"]["host"], "localhost:9000");
        assert_eq!(e["headers"]["x-many"], "1,2");
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["rawQueryString"], "tag=a&tag=b+c&q=%2Fx");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["requestContext"]["http"]["sourceIp"], "127.0.0.1");
        assert!(e.get("pathParameters").is_none());
    }

    #[test]
    fn textual_bodies_stay_text() {
        let mut req = request();
        req.headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        req.body = Bytes::from_static(br#"{"a":"\u00e9"}"#);
        let e = parse(to_v2_event(
            &req,
            "$default",
            &HashMap::new(),
            "$default",
            "r1",
        ));
        assert_eq!(e["body"], r#"{"a":"\u00e9"}"#);
        assert_eq!(e["isBase64Encoded"], false);
    }
}
