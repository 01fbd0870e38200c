//! A function's API Gateway proxy response, back into an HTTP response.
//!
//! API Gateway answers 502 for anything that is not an object with an
//! integer `statusCode`; so does this, with the reason for the log. The
//! response is read straight into typed fields; only one that does not fit
//! them is read again as a JSON tree, to say what is wrong with it (or, for
//! payload 2.0, to return it as HTTP API's "inferred" response).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

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

/// Maps a payload 1.0 proxy response.
pub fn from_v1_response(payload: &[u8]) -> Result<HttpResponse, String> {
    match typed(payload) {
        Some(proxy) => proxy.into_http(),
        None => from_v1_tree(payload),
    }
}

/// The fast read: `payload` as a proxy response with a `statusCode`, if it
/// fits the typed fields.
fn typed(payload: &[u8]) -> Option<ProxyResponse> {
    serde_json::from_slice::<ProxyResponse>(payload)
        .ok()
        .filter(|proxy| proxy.status_code.is_some())
}

/// [`from_v1_response`] by way of a JSON tree only: the slow path, which
/// names what is wrong. Public so that the fuzz target can check that both
/// reads agree.
#[doc(hidden)]
pub fn from_v1_tree(payload: &[u8]) -> Result<HttpResponse, String> {
    match parse(payload)?.as_object() {
        Some(obj) => diagnose(obj)?.into_http(),
        None => Err("the function's response is not a JSON object".into()),
    }
}

/// Maps a payload 2.0 response: a proxy response object when it has a
/// `statusCode`, otherwise any JSON value, returned as a 200 JSON body
/// (HTTP API's "inferred" format).
pub fn from_v2_response(payload: &[u8]) -> Result<HttpResponse, String> {
    if let Some(proxy) = typed(payload) {
        return proxy.into_http();
    }
    let value = parse(payload)?;
    match value.as_object() {
        Some(obj) if obj.contains_key("statusCode") => diagnose(obj)?.into_http(),
        _ => Ok(HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: match value {
                // A bare string is the body itself.
                Value::String(s) => s.into_bytes(),
                other => other.to_string().into_bytes(),
            },
        }),
    }
}

fn parse(payload: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(payload).map_err(|e| format!("the function's response is not JSON: {e}"))
}

/// The fields of a proxy response that API Gateway reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProxyResponse {
    status_code: Option<StatusCode>,
    headers: Option<BTreeMap<String, Scalar>>,
    multi_value_headers: Option<BTreeMap<String, Vec<Scalar>>>,
    cookies: Option<Vec<String>>,
    body: Option<String>,
    is_base64_encoded: Option<bool>,
}

impl ProxyResponse {
    fn into_http(self) -> Result<HttpResponse, String> {
        let status = self
            .status_code
            .ok_or("the proxy response has no integer `statusCode`")?
            .0;
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| format!("`statusCode` {status} is not an HTTP status"))?;
        let mut headers: Vec<(String, String)> = self
            .headers
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        for (k, vs) in self.multi_value_headers.unwrap_or_default() {
            // Values here override the single-value header of that name.
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
            headers.extend(vs.into_iter().map(|v| (k.clone(), v.0)));
        }
        for cookie in self.cookies.unwrap_or_default() {
            headers.push(("set-cookie".into(), cookie));
        }
        let body = match self.body {
            None => Vec::new(),
            Some(s) if self.is_base64_encoded == Some(true) => {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| format!("`body` is marked base64 but is not: {e}"))?
            }
            Some(s) => s.into_bytes(),
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// Reads a proxy response that did not fit [`ProxyResponse`] field by
/// field, to name the field that is wrong. `isBase64Encoded` that is not a
/// boolean is false, as API Gateway takes it.
fn diagnose(obj: &Map<String, Value>) -> Result<ProxyResponse, String> {
    fn field<T: DeserializeOwned>(
        obj: &Map<String, Value>,
        key: &str,
    ) -> Result<Option<T>, String> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|e| format!("`{key}` in the proxy response: {e}")),
        }
    }
    Ok(ProxyResponse {
        status_code: Some(
            field(obj, "statusCode")
                .ok()
                .flatten()
                .ok_or("the proxy response has no integer `statusCode`")?,
        ),
        headers: field(obj, "headers")?,
        multi_value_headers: field(obj, "multiValueHeaders")?,
        cookies: field(obj, "cookies")?,
        body: field(obj, "body")?,
        is_base64_encoded: obj.get("isBase64Encoded").and_then(Value::as_bool),
    })
}

/// `statusCode`: an integer, or a string of one.
#[derive(Debug)]
struct StatusCode(u64);

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusCode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer status code")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusCode, E> {
                Ok(StatusCode(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusCode, E> {
                v.parse()
                    .map(StatusCode)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A header value: a string, or a number or boolean written as one.
#[derive(Debug)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                // As JSON writes it (`1.5`, `1e100`), not as Rust does.
                Ok(Scalar(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_responses_map_back() {
        let r = from_v1_response(
            br#"{"statusCode":201,"headers":{"X-A":"1","Set-Cookie":"gone"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"aGk=","isBase64Encoded":true}"#,
        )
        .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"hi");
        assert_eq!(
            r.headers,
            vec![
                ("X-A".to_string(), "1".to_string()),
                ("Set-Cookie".to_string(), "a=1".to_string()),
                ("Set-Cookie".to_string(), "b=2".to_string()),
            ]
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
        let r = from_v2_response(br#""just text""#).unwrap();
        assert_eq!(r.body, b"just text");
    }

    #[test]
    fn loose_forms_read_as_api_gateway_reads_them() {
        let r = from_v1_response(
            br#"{"statusCode":"404","headers":{"X-N":5,"X-B":true,"X-F":1.5},"isBase64Encoded":"yes","body":"aGk="}"#,
        )
        .unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.body, b"aGk=", "a non-boolean isBase64Encoded is false");
        assert!(r.headers.contains(&("X-N".to_string(), "5".to_string())));
        assert!(r.headers.contains(&("X-B".to_string(), "true".to_string())));
        assert!(r.headers.contains(&("X-F".to_string(), "1.5".to_string())));
        // A repeated key: the last one counts, as in any JSON reader here.
        let r = from_v1_response(br#"{"statusCode":200,"statusCode":204}"#).unwrap();
        assert_eq!(r.status, 204);
    }

    #[test]
    fn malformed_proxy_responses_are_rejected_with_a_reason() {
        for (bad, why) in [
            (&b"not json"[..], "not JSON"),
            (b"[1]", "not a JSON object"),
            (br#"{"body":"x"}"#, "no integer `statusCode`"),
            (br#"{"statusCode":-1}"#, "no integer `statusCode`"),
            (br#"{"statusCode":99}"#, "not an HTTP status"),
            (br#"{"statusCode":200,"body":5}"#, "`body`"),
            (br#"{"statusCode":200,"headers":{"a":null}}"#, "`headers`"),
            (br#"{"statusCode":200,"headers":[]}"#, "`headers`"),
            (
                br#"{"statusCode":200,"multiValueHeaders":{"a":"b"}}"#,
                "`multiValueHeaders`",
            ),
            (br#"{"statusCode":200,"cookies":[1]}"#, "`cookies`"),
            (
                br#"{"statusCode":200,"body":"*","isBase64Encoded":true}"#,
                "base64",
            ),
        ] {
            let text = String::from_utf8_lossy(bad);
            let e = from_v1_response(bad).expect_err(&text);
            assert!(e.contains(why), "{text}: {e}");
            if bad != b"[1]" {
                let e = from_v2_response(bad).err();
                if bad.starts_with(br#"{"statusCode""#) || bad == b"not json" {
                    assert!(e.is_some_and(|e| e.contains(why)), "{text}");
                }
            }
        }
    }
}
