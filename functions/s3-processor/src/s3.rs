//! A small S3 client over the guest's outbound HTTP: GetObject and
//! PutObject, signed with SigV4 from the function's environment, as the AWS
//! SDK would sign them.
//!
//! * `S3_ENDPOINT` (e.g. `http://127.0.0.1:5000`, an S3-compatible server)
//!   selects path-style URLs on that endpoint; without it, requests go to
//!   `https://<bucket>.s3.<AWS_REGION>.amazonaws.com`.
//! * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
//!   sign the requests; without them requests are anonymous (public
//!   buckets).
//!
//! The function's `allowedOutboundHosts` must list the endpoint.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use wasmfn_guest::Error;

/// What S3 leaves unescaped in a key: the unreserved characters and `/`.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// An object as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// Its bytes.
    pub body: Vec<u8>,
}

/// Where objects are read and written; [`S3`] in the function, a map in
/// unit tests.
pub trait Objects {
    /// Reads `bucket/key`.
    fn get(&self, bucket: &str, key: &str) -> Result<Object, Error>;
    /// Writes `bucket/key`.
    fn put(&self, bucket: &str, key: &str, object: Object) -> Result<(), Error>;
}

/// The S3 API over outbound HTTP.
pub struct S3 {
    endpoint: Option<String>,
    region: String,
    credentials: Option<Credentials>,
}

impl S3 {
    /// The client the environment describes.
    pub fn from_env() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Some(Credentials::new(
                key,
                secret,
                env("AWS_SESSION_TOKEN"),
                None,
                "environment",
            )),
            _ => None,
        };
        S3 {
            endpoint: env("S3_ENDPOINT").map(|e| e.trim_end_matches('/').to_string()),
            region: env("AWS_REGION").unwrap_or_else(|| "us-east-1".to_string()),
            credentials,
        }
    }

    /// The object's URL.
    pub fn url(&self, bucket: &str, key: &str) -> String {
        let key = utf8_percent_encode(key, KEY);
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{bucket}/{key}"),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.region),
        }
    }

    /// The headers that sign a request (none when anonymous). SigV4 signs
    /// the `host` it derives from `url`, as the request will carry it.
    pub fn signed_headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, Error> {
        let Some(credentials) = &self.credentials else {
            return Ok(Vec::new());
        };
        let fail = |e: &dyn std::fmt::Display| Error::new("SigningFailed", e.to_string());
        // S3 signs the payload hash and escapes the path once.
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| fail(&e))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| fail(&e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| fail(&e))?.into_parts();
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .body(())
            .map_err(|e| fail(&e))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request
            .headers()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(target_family = "wasm")]
impl Objects for S3 {
    fn get(&self, bucket: &str, key: &str) -> Result<Object, Error> {
        let url = self.url(bucket, key);
        let headers = self.signed_headers("GET", &url, &[], b"")?;
        let response = wasmfn_guest::http_client::Client::new()
            .get(&url)
            .headers(headers)
            .send()
            .map_err(|e| Error::new("S3Unreachable", format!("GET {url}: {e}")))?;
        let status = response.status_code();
        let content_type = response
            .header("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .body()
            .map_err(|e| Error::new("S3Unreachable", format!("GET {url}: {e}")))?;
        if status != 200 {
            return Err(Error::new(
                "S3Error",
                format!(
                    "GET {url}: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                ),
            ));
        }
        Ok(Object { content_type, body })
    }

    fn put(&self, bucket: &str, key: &str, object: Object) -> Result<(), Error> {
        let url = self.url(bucket, key);
        let content_type = object
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let headers = self.signed_headers(
            "PUT",
            &url,
            &[("content-type", &content_type)],
            &object.body,
        )?;
        let response = wasmfn_guest::http_client::Client::new()
            .put(&url)
            .header("content-type", content_type.as_str())
            .headers(headers)
            .body(object.body)
            .send()
            .map_err(|e| Error::new("S3Unreachable", format!("PUT {url}: {e}")))?;
        let status = response.status_code();
        if status != 200 {
            let body = response.body().unwrap_or_default();
            return Err(Error::new(
                "S3Error",
                format!(
                    "PUT {url}: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                ),
            ));
        }
        Ok(())
    }
}

/// Natively there is no wasi:http; unit tests pass their own [`Objects`].
#[cfg(not(target_family = "wasm"))]
impl Objects for S3 {
    fn get(&self, bucket: &str, key: &str) -> Result<Object, Error> {
        Err(native(&self.url(bucket, key)))
    }

    fn put(&self, bucket: &str, key: &str, _: Object) -> Result<(), Error> {
        Err(native(&self.url(bucket, key)))
    }
}

#[cfg(not(target_family = "wasm"))]
fn native(url: &str) -> Error {
    Error::new(
        "S3Unreachable",
        format!("{url}: S3 is reached through wasi:http, in the wasm32-wasip2 build; natively, pass another `Objects`"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_path_style_on_an_endpoint_and_escape_the_key_once() {
        let s3 = S3 {
            endpoint: Some("http://127.0.0.1:5000".into()),
            region: "us-east-1".into(),
            credentials: None,
        };
        assert_eq!(
            s3.url("uploads", "photos/my cat(1).jpg"),
            "http://127.0.0.1:5000/uploads/photos/my%20cat%281%29.jpg"
        );
        let aws = S3 {
            endpoint: None,
            ..s3
        };
        assert_eq!(
            aws.url("b", "k.json"),
            "https://b.s3.us-east-1.amazonaws.com/k.json"
        );
    }

    #[test]
    fn signed_requests_carry_the_payload_hash_and_a_sigv4_authorization() {
        let s3 = S3 {
            endpoint: Some("http://127.0.0.1:5000".into()),
            region: "eu-west-1".into(),
            credentials: Some(Credentials::new("AKID", "SECRET", None, None, "test")),
        };
        let url = s3.url("b", "k");
        let headers = s3.signed_headers("PUT", &url, &[], b"hello").unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_str().unwrap())
                .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        };
        assert!(get("authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKID/"));
        assert!(get("authorization").contains("/eu-west-1/s3/aws4_request"));
        // The host (with its port) is signed, derived from the URL.
        assert!(get("authorization").contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date"));
        // sha256("hello")
        assert_eq!(
            get("x-amz-content-sha256"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
