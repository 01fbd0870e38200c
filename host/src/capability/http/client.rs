//! The host's HTTP(S) client, shared by guests' outbound calls
//! ([`crate::capability::http`]) and the DynamoDB key-value backend
//! ([`crate::capability::kv::dynamodb`]).
//!
//! Connections are pooled: a function's instances come and go, but the TCP
//! and TLS sessions they opened stay with the function, so a warm call to
//! the same origin skips the handshake, as a Lambda's reused SDK client
//! would. TLS is rustls with the webpki roots, so the host needs no system
//! certificate store.

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Connect timeout of every pooled connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle pooled connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Idle connections kept per origin.
const MAX_IDLE_PER_HOST: usize = 16;

/// The connector: plain TCP for `http://`, rustls for `https://`.
pub type Connector = HttpsConnector<HttpConnector>;

/// A pooled client sending bodies of type `B`.
pub type HttpClient<B> = Client<Connector, B>;

/// A new pooled client. Creating one needs no runtime; its connections live
/// on the runtime that opened them.
pub fn client<B>() -> HttpClient<B>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut http = HttpConnector::new();
    // The TLS layer above handles `https://`.
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .build(https)
}
