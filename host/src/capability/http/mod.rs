//! Outbound HTTP for guests: `wasi:http/outgoing-handler`, granted per
//! function by an allow-list.
//!
//! A function's manifest lists the origins it may call in
//! `allowedOutboundHosts` (`https://*.amazonaws.com`,
//! `http://127.0.0.1:5000`, `*://api.example.com:*`). A request to any
//! other origin fails in the guest with wasi:http's `HTTP-request-denied`
//! error, and the host logs a warning naming the function and the URL. With
//! no list, a function has no network at all, which is the safe default.
//!
//! The host bounds what a call can cost: a 5 s connect timeout, a 30 s
//! first-byte timeout unless the guest asks for another, the guest's
//! between-bytes timeout when it sets one (the invocation's own timeout
//! still applies on top of all of them), and a cap on the response body,
//! past which the guest reads `HTTP-response-body-size`. Connections are pooled
//! per function ([`crate::capability::http::client`]), so a warm instance's second call to an
//! origin, or another instance's, reuses the first call's connection.
//!
//! May import: nothing of the crate above `capability`.

pub mod client;
pub mod outgoing;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::uri::Uri;
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::capability::http::client::HttpClient;

/// The largest response body a guest may receive by default (Lambda's own
/// synchronous payload limit is 6 MB; a dependency call is usually smaller).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// First-byte timeout when the guest sets none.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);

/// An `allowedOutboundHosts` entry that does not parse.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("`{entry}` is not an allowed host: {why}. Write it as `scheme://host[:port]`, e.g. `https://*.amazonaws.com` or `http://127.0.0.1:5000`")]
pub struct AllowListError {
    /// The entry.
    pub entry: String,
    /// What is wrong with it.
    pub why: String,
}

/// One allowed origin pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    /// `None` matches http and https.
    scheme: Option<String>,
    /// `*`, `*.suffix` or an exact host, lowercase.
    host: String,
    /// `None` matches any port.
    port: Option<u16>,
}

/// The origins a function may call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    origins: Vec<Origin>,
}

impl AllowList {
    /// Parses the manifest's entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, AllowListError> {
        let origins = entries
            .iter()
            .map(|e| parse_origin(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(AllowList { origins })
    }

    /// Whether the list is empty (no network).
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Whether a request to `uri` is allowed.
    pub fn permits(&self, uri: &Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let scheme = uri.scheme_str().unwrap_or("https");
        let port = uri.port_u16().or(match scheme {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        });
        self.origins.iter().any(|o| {
            o.scheme.as_deref().is_none_or(|s| s == scheme)
                && host_matches(&o.host, &host)
                && match o.port {
                    None => true,
                    Some(p) => port == Some(p),
                }
        })
    }
}

impl<'de> serde::Deserialize<'de> for AllowList {
    /// A list of origins; a bad entry is an error at its line in the
    /// manifest.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        AllowList::parse(&entries).map_err(serde::de::Error::custom)
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*.") {
        // `*.example.com` matches subdomains, not the bare domain.
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => pattern == host,
    }
}

fn parse_origin(entry: &str) -> Result<Origin, AllowListError> {
    let fail = |why: &str| AllowListError {
        entry: entry.to_string(),
        why: why.to_string(),
    };
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| fail("it has no scheme"))?;
    let scheme = match scheme {
        "*" => None,
        "http" | "https" => Some(scheme.to_string()),
        _ => return Err(fail("the scheme must be http, https or *")),
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(fail("it must not have a path"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, "*")) => (host, None),
        Some((host, port)) => (
            host,
            Some(
                port.parse::<u16>()
                    .map_err(|_| fail("the port is not a number"))?,
            ),
        ),
        None => (
            rest,
            match scheme.as_deref() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            },
        ),
    };
    if host.is_empty() || (host.contains('*') && host != "*" && !host.starts_with("*.")) {
        return Err(fail("a host is a name, `*` or `*.domain`"));
    }
    Ok(Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// The `wasi:http` hooks of one instance: the allow-list check, default
/// timeouts and the response cap.
#[derive(Clone)]
pub struct OutboundHooks {
    /// The function's allow-list.
    pub allow: Arc<AllowList>,
    /// The function's name, for the log line of a denied request.
    pub function: Arc<str>,
    /// The response-body cap.
    pub max_response_bytes: u64,
    /// The function's connection pool, shared by its instances and made by
    /// the first request that passes the allow-list (a function that never
    /// calls out never pays for the TLS setup).
    pub client: Arc<OnceLock<HttpClient<WasiBody>>>,
}

type SendFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        drop(fut);
        if !self.allow.permits(request.uri()) {
            tracing::warn!(
                function = %self.function,
                url = %request.uri(),
                "outbound HTTP request denied: the origin is not in the function's allowedOutboundHosts"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(FIRST_BYTE_TIMEOUT);
        let between_bytes = options.and_then(|o| o.between_bytes_timeout);
        let limit = self.max_response_bytes;
        let client = self
            .client
            .get_or_init(crate::capability::http::client::client)
            .clone();
        Box::new(async move {
            let response = match tokio::time::timeout(first_byte, client.request(request)).await {
                Err(_) => return Err(HttpError::ConnectionReadTimeout),
                Ok(result) => result.map_err(send_error)?,
            };
            if response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .is_some_and(|len| len > limit)
            {
                return Err(HttpError::HttpResponseBodySize(Some(limit)));
            }
            let response = response.map(|body| {
                let body = http_body_util::Limited::new(body, limit as usize)
                    .map_err(move |e| match e.downcast::<hyper::Error>() {
                        Ok(e) => HttpError::Hyper(*e),
                        Err(_) => HttpError::HttpResponseBodySize(Some(limit)),
                    })
                    .boxed_unsync();
                match between_bytes {
                    // The clock restarts with every frame.
                    Some(gap) => tower_http::timeout::TimeoutBody::new(gap, body)
                        .map_err(|e| match e.downcast::<HttpError>() {
                            Ok(e) => *e,
                            // tower-http's `TimeoutError`.
                            Err(_) => HttpError::ConnectionReadTimeout,
                        })
                        .boxed_unsync(),
                    None => body,
                }
            });
            // The pool drives the connection; there is no per-request I/O
            // task to hand back.
            Ok((
                response,
                Box::new(async { Ok(()) })
                    as Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

/// wasi:http's error for a request the pooled client could not send.
fn send_error(e: hyper_util::client::legacy::Error) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused,
                std::io::ErrorKind::TimedOut => HttpError::ConnectionTimeout,
                kind => HttpError::Connect(std::io::Error::new(kind, format!("{e:#}"))),
            };
        }
        source = s.source();
    }
    // A connect timeout is an io::Error (TimedOut) in the chain, above.
    if e.is_connect() {
        return HttpError::Connect(std::io::Error::other(format!("{e:?}")));
    }
    HttpError::InternalError(Some(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permits(list: &[&str], url: &str) -> bool {
        AllowList::parse(list)
            .unwrap()
            .permits(&url.parse().unwrap())
    }

    #[test]
    fn origins_match_scheme_host_and_port() {
        let aws = ["https://*.amazonaws.com"];
        assert!(permits(&aws, "https://dynamodb.us-east-1.amazonaws.com/"));
        assert!(!permits(&aws, "http://dynamodb.us-east-1.amazonaws.com/"));
        assert!(!permits(&aws, "https://amazonaws.com/"));
        assert!(!permits(&aws, "https://evil-amazonaws.com/"));
        assert!(!permits(&aws, "https://s3.amazonaws.com:8443/"));
        let local = ["http://127.0.0.1:5000"];
        assert!(permits(&local, "http://127.0.0.1:5000/x"));
        assert!(!permits(&local, "http://127.0.0.1:5001/x"));
        assert!(!permits(&local, "http://localhost:5000/x"));
        assert!(permits(
            &["*://api.example.com:*"],
            "http://API.example.com:81/"
        ));
        assert!(!permits(&[] as &[&str], "https://example.com/"));
    }

    /// An origin that sends its headers and the first 5 of 100 body bytes,
    /// then nothing more, keeping the connection open.
    async fn stalling_origin() -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello";
                    let _ = socket.write_all(head.as_bytes()).await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(socket);
                });
            }
        });
        addr
    }

    /// The response body of a GET to `addr` through the hooks.
    async fn body_from(addr: std::net::SocketAddr, options: RequestOptions) -> WasiBody {
        let origin = format!("http://{addr}");
        let mut hooks = OutboundHooks {
            allow: Arc::new(AllowList::parse(&[origin.as_str()]).unwrap()),
            function: Arc::from("f"),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            client: Arc::new(OnceLock::new()),
        };
        let request = http::Request::get(format!("{origin}/"))
            .body(
                http_body_util::Empty::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .unwrap();
        let send = hooks.send_request(request, Some(options), Box::new(async { Ok(()) }));
        let (response, _io) = Box::into_pin(send).await.unwrap();
        response.into_body()
    }

    #[tokio::test]
    async fn a_body_that_stalls_past_the_between_bytes_timeout_fails() {
        let addr = stalling_origin().await;
        let gap = Duration::from_millis(200);
        let options = RequestOptions {
            between_bytes_timeout: Some(gap),
            ..RequestOptions::default()
        };
        let mut body = body_from(addr, options).await;
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "hello");
        let started = std::time::Instant::now();
        let next = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("the between-bytes timeout ends the wait");
        assert!(
            matches!(next, Some(Err(HttpError::ConnectionReadTimeout))),
            "{next:?}"
        );
        assert!(started.elapsed() >= gap);

        // Without one, the guest waits (until its invocation's timeout).
        let mut body = body_from(addr, RequestOptions::default()).await;
        body.frame().await.unwrap().unwrap();
        assert!(tokio::time::timeout(gap * 3, body.frame()).await.is_err());
    }

    #[test]
    fn bad_entries_say_how_to_write_them() {
        for bad in [
            "example.com",
            "ftp://x",
            "https://a.*.com",
            "https://x:port",
            "https://x/path",
        ] {
            let err = AllowList::parse(&[bad]).unwrap_err();
            assert!(err.to_string().contains("scheme://host[:port]"), "{err}");
        }
    }
}
