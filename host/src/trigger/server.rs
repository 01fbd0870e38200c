//! The HTTP server of `wasmfn serve`: hyper 1 on tokio, one task per
//! connection, graceful shutdown on SIGINT / SIGTERM.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::apigw::event::HttpRequest;
use super::invoke_api::{self, MAX_SYNC_PAYLOAD};
use super::invoke_stream;
use super::{apigw, full, Body, Service};

/// Serves `service` on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish (up to 30 s).
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, don't die.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let conn = hyper::server::conn::http1::Builder::new().serve_connection(
            TokioIo::new(stream),
            service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(dispatch(&service, req, peer).await) }
            }),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    tracing::info!("shutting down: waiting for in-flight requests");
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within 30 s");
    }
    Ok(())
}

/// Routes one request.
pub async fn dispatch(
    service: &Service,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    // Cheap clones: a standard method is a tag, a URI shares its bytes.
    let uri = req.uri().clone();
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let response = route(service, req, peer).await;
    tracing::info!(
        target: "wasmfn::request",
        method = %method,
        path = %uri.path(),
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

async fn route(service: &Service, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let uri = req.uri().clone();
    let path = uri.path();
    match invoke_api::parse_head(req.method(), path, uri.query(), req.headers()) {
        Ok(Some(head)) if head.streamed => {
            return invoke_stream::invoke(service, head, req.into_body()).await
        }
        Ok(Some(head)) => return invoke_api::invoke(service, head, req.into_body()).await,
        Err(e) => return e.response(),
        Ok(None) => {}
    }
    if path == "/metrics" && req.method() == Method::GET {
        return Response::builder()
            .header("content-type", "text/plain; version=0.0.4")
            .body(full(service.metrics.render()))
            .expect("a valid response");
    }
    let url_function = path
        .strip_prefix("/lambda-url/")
        .map(|rest| rest.split('/').next().unwrap_or("").to_string());
    if url_function.is_none() && head_size(&req) > MAX_GATEWAY_HEAD {
        return Response::builder()
            .status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            .header("content-type", "application/json")
            .body(full(r#"{"message":"Request Header Fields Too Large"}"#))
            .expect("a valid response");
    }
    let http = match read_http(req, peer).await {
        Ok(http) => http,
        Err(response) => return response,
    };
    match url_function {
        Some(name) => apigw::function_url(service, &name, http).await,
        None => apigw::route(service, http).await,
    }
}

/// API Gateway's bound on "the total combined size of request line and
/// header values" (HTTP APIs' quota; REST APIs' is the same 10 KB). Lambda
/// Function URLs allow 1 MB, past what the server reads anyway. API
/// Gateway does not document the status it answers with; this is HTTP's
/// own for it (RFC 6585).
pub const MAX_GATEWAY_HEAD: usize = 10240;

/// The size of a request's request line and header values.
fn head_size(req: &Request<Incoming>) -> usize {
    let line = req.method().as_str().len()
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + "HTTP/1.1".len();
    line + req.headers().values().map(|v| v.len()).sum::<usize>()
}

async fn read_http(
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<HttpRequest, Response<Body>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_SYNC_PAYLOAD).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Err(Response::builder()
                .status(StatusCode::PAYLOAD_TOO_LARGE)
                .header("content-type", "application/json")
                .body(full(r#"{"message":"Request Too Long"}"#))
                .expect("a valid response"))
        }
    };
    Ok(HttpRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        source_ip: peer.ip(),
    })
}
