//! Outbound HTTP through `wasi:http`: allowed origins are reached, any
//! other is refused in the guest, and a response over the cap is cut off.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use wasmfn::capability::http::AllowList;
use wasmfn::FunctionConfig;

use crate::support::{host, invoke, json, load};

/// A local origin answering `pong <path>`, and 32 MiB on `/huge`.
pub async fn origin() -> SocketAddr {
    counting_origin().await.0
}

/// [`origin`], and the number of connections it has accepted.
async fn counting_origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let body = if req.uri().path() == "/huge" {
                        Bytes::from(vec![b'z'; 32 << 20])
                    } else {
                        Bytes::from(format!("pong {}", req.uri().path()))
                    };
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(body)))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

async fn fetch(allowed: &[&str], url: &str) -> Value {
    let mut config = FunctionConfig::new("probe");
    config.allowed_outbound = Arc::new(AllowList::parse(allowed).unwrap());
    config.timeout = std::time::Duration::from_secs(10);
    let host = host();
    let f = load(&host, "probe", config);
    let inv = invoke(&f, &json!({"action": "fetch", "text": url})).await;
    json(&inv.result.expect("the probe reports fetch errors as data"))
}

#[tokio::test]
async fn an_allowed_origin_is_reached() {
    let addr = origin().await;
    let allowed = format!("http://127.0.0.1:{}", addr.port());
    let out = fetch(&[&allowed], &format!("http://{addr}/ping")).await;
    assert_eq!(out, json!({"status": 200, "body": "pong /ping"}));
}

#[tokio::test]
async fn connections_are_reused_across_calls_and_instances() {
    let (addr, accepted) = counting_origin().await;
    let mut config = FunctionConfig::new("probe");
    config.allowed_outbound = Arc::new(AllowList::parse(&[format!("http://{addr}")]).unwrap());
    // Every invocation on a new instance: reuse must outlive instances.
    config.pool.policy = wasmfn::Policy::Fresh;
    let host = host();
    let f = load(&host, "probe", config);
    for i in 0..5 {
        let url = format!("http://{addr}/call{i}");
        let inv = invoke(&f, &json!({"action": "fetch", "text": url})).await;
        let out = json(&inv.result.unwrap());
        assert_eq!(out["body"], format!("pong /call{i}"), "{out}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "five calls from five instances share one pooled connection"
    );
}

#[tokio::test]
async fn any_other_origin_is_refused_in_the_guest() {
    let addr = origin().await;
    // No list: no network at all.
    let out = fetch(&[], &format!("http://{addr}/ping")).await;
    assert!(
        out["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{out}"
    );
    // Another port of the same host is another origin.
    let other = format!("http://127.0.0.1:{}", addr.port() + 1);
    let out = fetch(&[&other], &format!("http://{addr}/ping")).await;
    assert!(
        out["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{out}"
    );
    // The scheme is part of the origin too.
    let https = format!("https://127.0.0.1:{}", addr.port());
    let out = fetch(&[&https], &format!("http://{addr}/ping")).await;
    assert!(
        out["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{out}"
    );
}

#[tokio::test]
async fn raw_sockets_cannot_go_around_the_allow_list() {
    let addr = origin().await;
    let allowed = format!("http://127.0.0.1:{}", addr.port());
    let mut config = FunctionConfig::new("probe");
    // Even with the origin allowed for HTTP, a socket to it is refused:
    // the host grants no wasi:sockets addresses.
    config.allowed_outbound = Arc::new(AllowList::parse(&[&allowed]).unwrap());
    let host = host();
    let f = load(&host, "probe", config);
    let inv = invoke(&f, &json!({"action": "tcp", "text": addr.to_string()})).await;
    let out = json(&inv.result.unwrap());
    // Denied by the host (wasi:sockets' access-denied), not unsupported.
    assert!(
        out["error"]
            .as_str()
            .unwrap_or("")
            .contains("Permission denied"),
        "{out}"
    );
}

#[tokio::test]
async fn a_response_over_the_cap_is_refused_without_growing_the_host() {
    let addr = origin().await;
    let allowed = format!("http://127.0.0.1:{}", addr.port());
    let out = fetch(&[&allowed], &format!("http://{addr}/huge")).await;
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("HttpResponseBodySize"),
        "{out}"
    );
}
