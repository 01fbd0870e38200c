//! HTTP responses for API Gateway, Function URL and ALB functions.
//!
//! A [`Response`] is built once and converts into whichever response type
//! the event source expects (`ApiGatewayProxyResponse`,
//! `ApiGatewayV2httpResponse`, `LambdaFunctionUrlResponse`,
//! `AlbTargetGroupResponse`), so a handler states *what* it answers and the
//! conversion deals with each source's quirks: base64 for binary bodies,
//! cookies as `Set-Cookie` headers for payload v1, ALB's status line.
//!
//! [`from_result`] is the error-handling wrapper of an HTTP function: an
//! [`Error`] with a status (see [`Error::http`]) becomes that status with a
//! JSON body; any other error becomes a 500 whose body does not leak the
//! internal message, which goes to the log instead.
//!
//! ```
//! use wasmfn_guest::response::{from_result, Response};
//! use wasmfn_guest::Error;
//!
//! fn find(id: &str) -> Result<Response, Error> {
//!     if id != "7" {
//!         return Err(Error::http(404, format!("item {id} not found")));
//!     }
//!     Ok(Response::json(200, &serde_json::json!({"id": id})))
//! }
//!
//! let response = from_result(find("8")).cors();
//! assert_eq!(response.status, 404);
//! assert_eq!(response.body_text(), Some(r#"{"errorType":"NotFound","message":"item 8 not found"}"#));
//! assert_eq!(response.header_value("access-control-allow-origin"), Some("*"));
//! ```

use serde::Serialize;

use crate::Error;

/// The body of a [`Response`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A UTF-8 body.
    Text(String),
    /// A binary body; sent base64-encoded with `isBase64Encoded: true`.
    Binary(Vec<u8>),
}

/// An HTTP response, independent of the event source that will carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in the order they were added; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// `Set-Cookie` values.
    pub cookies: Vec<String>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            ..Response::default()
        }
    }

    /// `value` as JSON, with `Content-Type: application/json`. A value that
    /// cannot be serialized (a map with non-string keys) answers 500.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_string(value) {
            Ok(body) => Response::new(status)
                .header("Content-Type", "application/json")
                .with_body(Body::Text(body)),
            Err(e) => from_result(Err(Error::new(
                "Runtime.MarshalError",
                format!("the response body cannot be serialized to JSON: {e}"),
            ))),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .with_body(Body::Text(text.into()))
    }

    /// A `text/html` response.
    pub fn html(status: u16, html: impl Into<String>) -> Self {
        Response::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .with_body(Body::Text(html.into()))
    }

    /// A binary response of `content_type` (an image, a PDF, ...).
    pub fn binary(status: u16, content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        Response::new(status)
            .header("Content-Type", content_type)
            .with_body(Body::Binary(bytes.into()))
    }

    /// A `302 Found` redirect to `location`.
    pub fn redirect(location: &str) -> Self {
        Response::new(302).header("Location", location)
    }

    /// A `301 Moved Permanently` redirect to `location`.
    pub fn permanent_redirect(location: &str) -> Self {
        Response::new(301).header("Location", location)
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Response::new(204)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds a `Set-Cookie` value.
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookies.push(cookie.to_string());
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Permissive CORS headers: any origin, the common methods and headers.
    pub fn cors(self) -> Self {
        self.cors_origin("*")
    }

    /// CORS headers for `origin`.
    pub fn cors_origin(self, origin: &str) -> Self {
        self.header("Access-Control-Allow-Origin", origin)
            .header(
                "Access-Control-Allow-Headers",
                "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token",
            )
            .header(
                "Access-Control-Allow-Methods",
                "GET,POST,PUT,PATCH,DELETE,OPTIONS",
            )
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, if it is text.
    pub fn body_text(&self) -> Option<&str> {
        match &self.body {
            Body::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl Error {
    /// An error that answers HTTP `status`, with the status's name as its
    /// `errorType` (`404` → `NotFound`) and `message` shown to the client.
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        Error::new(status_name(status), message).with_status(status)
    }
}

/// The error-handling wrapper of an HTTP function: `Ok` passes through; an
/// error with a status answers it with `{"errorType", "message"}`; any other
/// error is logged and answers a bare 500, as API Gateway's own
/// `Internal server error` does, so internals never reach the client.
pub fn from_result(result: Result<Response, Error>) -> Response {
    match result {
        Ok(response) => response,
        Err(e) => match e.status() {
            Some(status) => Response::json(
                status,
                &serde_json::json!({"errorType": e.error_type(), "message": e.message()}),
            ),
            None => {
                log::error!("{e}");
                Response::json(
                    500,
                    &serde_json::json!({"message": "Internal Server Error"}),
                )
            }
        },
    }
}

/// A PascalCase name for the common statuses, for `errorType`.
fn status_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        422 => "UnprocessableEntity",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        s if s < 500 => "ClientError",
        _ => "ServerError",
    }
}

#[cfg(any(feature = "apigw", feature = "alb", feature = "lambda_function_urls"))]
mod convert {
    //! Into the event sources' response types.

    use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};

    use super::{Body, Response};

    fn header_map<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(name), Ok(value)) => {
                    map.append(name, value);
                }
                _ => log::warn!("dropping the invalid response header `{name}: {value}`"),
            }
        }
        map
    }

    impl Response {
        fn headers_map(&self) -> HeaderMap {
            header_map(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        }

        /// Headers with the cookies as `Set-Cookie`, for sources without a
        /// `cookies` field.
        fn headers_with_cookies(&self) -> HeaderMap {
            header_map(
                self.headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .chain(self.cookies.iter().map(|c| ("Set-Cookie", c.as_str()))),
            )
        }

        fn event_body(&self) -> (Option<aws_lambda_events::encodings::Body>, bool) {
            use aws_lambda_events::encodings::Body as EventBody;
            match &self.body {
                Body::Empty => (None, false),
                Body::Text(t) => (Some(EventBody::Text(t.clone())), false),
                // aws_lambda_events serializes Binary as base64.
                Body::Binary(b) => (Some(EventBody::Binary(b.clone())), true),
            }
        }
    }

    #[cfg(feature = "apigw")]
    impl From<Response> for aws_lambda_events::apigw::ApiGatewayProxyResponse {
        fn from(r: Response) -> Self {
            let (body, is_base64_encoded) = r.event_body();
            let mut out = Self::default();
            out.status_code = i64::from(r.status);
            // Payload v1 has one value per name in `headers`; repeated names
            // (Set-Cookie above all) need `multiValueHeaders`.
            let all = r.headers_with_cookies();
            let mut single = HeaderMap::new();
            for name in all.keys() {
                if all.get_all(name).iter().count() == 1 {
                    single.insert(name.clone(), all[name].clone());
                }
            }
            out.multi_value_headers = if single.len() == all.keys_len() {
                HeaderMap::new()
            } else {
                all
            };
            out.headers = single;
            out.body = body;
            out.is_base64_encoded = is_base64_encoded;
            out
        }
    }

    #[cfg(feature = "apigw")]
    impl From<Response> for aws_lambda_events::apigw::ApiGatewayV2httpResponse {
        fn from(r: Response) -> Self {
            let (body, is_base64_encoded) = r.event_body();
            let mut out = Self::default();
            out.status_code = i64::from(r.status);
            out.headers = r.headers_map();
            out.cookies = r.cookies;
            out.body = body;
            out.is_base64_encoded = is_base64_encoded;
            out
        }
    }

    #[cfg(feature = "lambda_function_urls")]
    impl From<Response> for aws_lambda_events::lambda_function_urls::LambdaFunctionUrlResponse {
        fn from(r: Response) -> Self {
            use base64::Engine;
            let mut out = Self::default();
            out.status_code = i64::from(r.status);
            out.headers = r.headers_map();
            out.cookies = r.cookies.clone();
            match r.body {
                Body::Empty => {}
                Body::Text(t) => out.body = Some(t),
                Body::Binary(b) => {
                    out.body = Some(base64::engine::general_purpose::STANDARD.encode(b));
                    out.is_base64_encoded = true;
                }
            }
            out
        }
    }

    #[cfg(feature = "alb")]
    impl From<Response> for aws_lambda_events::alb::AlbTargetGroupResponse {
        fn from(r: Response) -> Self {
            let (body, is_base64_encoded) = r.event_body();
            let mut out = Self::default();
            out.status_code = i64::from(r.status);
            out.status_description = Some(format!(
                "{} {}",
                r.status,
                aws_lambda_events::http::StatusCode::from_u16(r.status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
            ));
            out.headers = r.headers_with_cookies();
            out.body = body;
            out.is_base64_encoded = is_base64_encoded;
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_without_a_status_hides_its_message() {
        let r = from_result(Err(Error::msg("db password is hunter2")));
        assert_eq!(r.status, 500);
        assert!(!r.body_text().unwrap().contains("hunter2"));
    }

    #[test]
    fn redirects_carry_a_location() {
        let r = Response::redirect("/login");
        assert_eq!(
            (r.status, r.header_value("location")),
            (302, Some("/login"))
        );
    }

    #[cfg(feature = "apigw")]
    #[test]
    fn binary_bodies_are_base64_in_api_gateway_responses() {
        use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
        let r = Response::binary(200, "image/png", vec![0x89, b'P', b'N', b'G'])
            .cookie("a=1")
            .cookie("b=2");
        let v1 = serde_json::to_value(ApiGatewayProxyResponse::from(r.clone())).unwrap();
        assert_eq!(v1["body"], "iVBORw==");
        assert_eq!(v1["isBase64Encoded"], true);
        assert_eq!(
            v1["multiValueHeaders"]["set-cookie"],
            serde_json::json!(["a=1", "b=2"])
        );
        let v2 = serde_json::to_value(ApiGatewayV2httpResponse::from(r)).unwrap();
        assert_eq!(v2["cookies"], serde_json::json!(["a=1", "b=2"]));
        assert_eq!(v2["headers"]["content-type"], "image/png");
    }
}
