//! The bodies of the fuzz targets (`fuzz/`), here so that the same code runs
//! under libFuzzer on nightly and over the checked-in corpus on stable
//! (`tests/all/fuzz.rs`). Each takes arbitrary bytes, drives one parser of
//! untrusted input, and panics only if an invariant breaks.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::manifest::Manifest;
use crate::trigger::apigw::event::{self, HttpRequest};
use crate::trigger::apigw::proxy;
use crate::trigger::apigw::router::{routes_from_events, Router};
use crate::trigger::invoke_api;

/// A request written as text: `METHOD PATH[?QUERY]`, then `Name: value`
/// lines, a blank line, and the body.
struct RawRequest<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
}

fn split_request(data: &[u8]) -> RawRequest<'_> {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or((data, &b""[..]), |i| (&data[..i], &data[i + 2..]));
    let head = std::str::from_utf8(split.0).unwrap_or("");
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    RawRequest {
        method,
        path,
        query,
        headers,
        body: split.1,
    }
}

/// The manifest parser, and everything built from a manifest that parsed:
/// function configurations, handlers, API Gateway routes and their lookup.
pub fn manifest(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/fuzz/serverless.yml");
    let manifest = match Manifest::parse(path, &text) {
        Ok((manifest, _warnings)) => manifest,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            return;
        }
    };
    let mut routes = Vec::new();
    for (name, spec) in &manifest.functions {
        let _ = manifest.function_config(name);
        let _ = manifest.handler(name);
        routes.extend(routes_from_events(name, &spec.events).0);
    }
    let router = Router::new(routes);
    for (method, path) in [("GET", "/"), ("POST", "/users/1"), ("OPTIONS", "/a/b/c")] {
        let _ = router.resolve(method, path);
        let _ = router.cors_on(path);
    }
}

/// The headers as a server would receive them: those HTTP cannot carry
/// are dropped (hyper refuses them before any of this runs).
fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            map.append(k, v);
        }
    }
    map
}

/// The Invoke API's request head (method, path, qualifier, invocation type,
/// client context) and payload checks.
pub fn invoke_request(data: &[u8]) {
    let raw = split_request(data);
    let Ok(method) = Method::from_bytes(raw.method.as_bytes()) else {
        return;
    };
    let headers = header_map(&raw.headers);
    match invoke_api::parse_head(&method, raw.path, raw.query, &headers) {
        Ok(None) => assert!(!raw.path.starts_with(invoke_api::INVOKE_PREFIX)),
        Ok(Some(head)) => {
            assert!(!head.function.is_empty());
            if let Some(context) = &head.client_context {
                let value: serde_json::Value =
                    serde_json::from_str(context).expect("a decoded client context is JSON");
                assert!(value.is_object());
            }
        }
        Err(e) => {
            assert!(e.status.is_client_error(), "{e:?}");
            assert!(e.response().status().is_client_error());
        }
    }
    match invoke_api::check_payload(Bytes::copy_from_slice(raw.body)) {
        Ok(payload) => {
            serde_json::from_slice::<serde::de::IgnoredAny>(&payload)
                .expect("an accepted payload is JSON");
        }
        Err(e) => assert_eq!(e.error_type, "InvalidRequestContentException"),
    }
}

/// The API Gateway mapping both ways: a request into payload 1.0 and 2.0
/// events (the body survives exactly), and the input as a function's proxy
/// response back into an HTTP response.
pub fn apigw(data: &[u8]) {
    let raw = split_request(data);
    let Ok(method) = Method::from_bytes(raw.method.to_ascii_uppercase().as_bytes()) else {
        return;
    };
    let req = HttpRequest {
        method,
        path: raw.path.to_string(),
        raw_query: raw.query.unwrap_or("").to_string(),
        headers: header_map(&raw.headers),
        body: Bytes::copy_from_slice(raw.body),
        source_ip: std::net::IpAddr::from([127, 0, 0, 1]),
    };
    let params = HashMap::from([("id".to_string(), "1".to_string())]);
    let v1 = event::to_v1_event(&req, "/{id}", &params, "dev", "r-1");
    let v2 = event::to_v2_event(&req, "ANY /{id}", &params, "dev", "r-1");
    for event in [&v1, &v2] {
        let event: serde_json::Value = serde_json::from_slice(event).expect("events are JSON");
        let body = match (&event["body"], event["isBase64Encoded"].as_bool()) {
            (serde_json::Value::Null, _) => Vec::new(),
            (serde_json::Value::String(b), Some(true)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("isBase64Encoded bodies are base64"),
            (serde_json::Value::String(text), _) => text.as_bytes().to_vec(),
            (other, _) => panic!("body is {other}"),
        };
        assert_eq!(body, req.body, "the body survives the mapping");
    }
    assert_eq!(
        proxy::from_v1_response(raw.body),
        proxy::from_v1_tree(raw.body),
        "the typed read of a proxy response agrees with the tree read"
    );
    let mapped = [
        proxy::from_v1_response(raw.body),
        proxy::from_v2_response(raw.body),
    ];
    for response in mapped.into_iter().flatten() {
        assert!((100..=599).contains(&response.status));
        let _ = response.into_response();
    }
}
