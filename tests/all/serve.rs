//! `wasmfn serve`'s API Gateway routes and Function URLs, through a real
//! HTTP client (hyper) against the real binary.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::support::{root, spawn_serve, KillOnDrop};

struct Server {
    child: KillOnDrop,
    port: u16,
    state: tempfile::TempDir,
}

fn start(manifest: &Path) -> Server {
    start_with(manifest, &[])
}

fn start_with(manifest: &Path, extra: &[&str]) -> Server {
    let state = tempfile::tempdir().unwrap();
    let mut args: Vec<&OsStr> = vec!["--manifest".as_ref(), manifest.as_os_str()];
    args.extend(["--state-dir".as_ref(), state.path().as_os_str()]);
    args.extend(extra.iter().map(OsStr::new));
    let (child, port) = spawn_serve(&root(), &args);
    Server { child, port, state }
}

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{port}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

fn fixture() -> std::path::PathBuf {
    root().join("tests/all/fixtures/serverless.yml")
}

#[tokio::test]
async fn the_api_function_does_crud_through_real_routes() {
    let s = start(&fixture());
    let json_ct = [("content-type", "application/json")];
    let created = request(
        s.port,
        "POST",
        "/items",
        &json_ct,
        br#"{"name":"lamp"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.header("access-control-allow-origin"), Some("*"));
    let id = created.json()["id"].as_str().unwrap().to_string();
    let got = request(s.port, "GET", &format!("/items/{id}"), &[], vec![]).await;
    assert_eq!(
        (got.status, got.json()["name"].clone()),
        (200, json!("lamp"))
    );
    let put = request(
        s.port,
        "PUT",
        &format!("/items/{id}"),
        &json_ct,
        br#"{"name":"desk"}"#.to_vec(),
    )
    .await;
    assert_eq!(put.json()["name"], "desk");
    let list = request(s.port, "GET", "/items", &[], vec![]).await;
    assert_eq!(list.json()["count"], 1);
    assert_eq!(
        request(s.port, "DELETE", &format!("/items/{id}"), &[], vec![])
            .await
            .status,
        204
    );
    assert_eq!(
        request(s.port, "GET", &format!("/items/{id}"), &[], vec![])
            .await
            .status,
        404
    );
    assert_eq!(
        request(s.port, "PATCH", "/items", &[], vec![]).await.status,
        405
    );
    assert_eq!(
        request(s.port, "GET", "/nowhere", &[], vec![]).await.status,
        404
    );
}

#[tokio::test]
async fn cors_preflight_is_answered_on_cors_routes() {
    let s = start(&fixture());
    let r = request(
        s.port,
        "OPTIONS",
        "/items/7",
        &[
            ("origin", "http://example.test"),
            ("access-control-request-method", "PUT"),
        ],
        vec![],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("PUT"));
}

#[tokio::test]
async fn path_parameters_and_multi_value_queries_reach_a_v1_event() {
    let s = start(&fixture());
    let r = request(s.port, "GET", "/v1/a/b%20c?tag=x&tag=y&one=1", &[], vec![]).await;
    assert_eq!(r.status, 200);
    let values: Vec<_> = r.headers.get_all("x-echo").iter().collect();
    assert_eq!(values.len(), 2, "multiValueHeaders map back");
    let event = r.json();
    assert_eq!(event["resource"], "/v1/{proxy+}");
    assert_eq!(event["pathParameters"]["proxy"], "a/b c");
    assert_eq!(
        event["multiValueQueryStringParameters"]["tag"],
        json!(["x", "y"])
    );
    assert_eq!(event["queryStringParameters"]["one"], "1");
    assert_eq!(event["requestContext"]["stage"], "test");
}

#[tokio::test]
async fn http_api_routes_send_v2_events() {
    let s = start(&fixture());
    let r = request(
        s.port,
        "POST",
        "/v2/x?tag=x&tag=y",
        &[("cookie", "a=1; b=2")],
        b"{}".to_vec(),
    )
    .await;
    let event = r.json();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /v2/{proxy+}");
    assert_eq!(event["queryStringParameters"]["tag"], "x,y");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
}

#[tokio::test]
async fn binary_bodies_round_trip() {
    let s = start(&fixture());
    let bytes: Vec<u8> = (0..=255u8).collect();
    for path in ["/v1/blob", "/v2/blob", "/lambda-url/probe/blob"] {
        let r = request(
            s.port,
            "POST",
            path,
            &[("content-type", "application/octet-stream")],
            bytes.clone(),
        )
        .await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.body.as_ref(),
            bytes.as_slice(),
            "{path}: the bytes come back unchanged"
        );
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    assert!(!encoded.is_empty());
}

#[tokio::test]
async fn a_malformed_proxy_response_is_502() {
    let s = start(&fixture());
    let r = request(s.port, "GET", "/v1/malformed", &[], vec![]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.json(), json!({"message": "Internal server error"}));
    // A function error is a 502 too, as behind API Gateway: `api` expects
    // payload 1.0, and a Function URL sends 2.0, which it cannot decode.
    let r = request(s.port, "GET", "/lambda-url/api/items", &[], vec![]).await;
    assert_eq!(r.status, 502);
}

/// Method, path, headers, body, expected status and `x-amzn-ErrorType`.
type BadRequest<'a> = (
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [u8],
    u16,
    &'a str,
);

#[tokio::test]
async fn bad_requests_get_aws_shaped_4xx() {
    let s = start(&fixture());
    let invocations = "/2015-03-31/functions/probe/invocations";
    let counter = br#"{"action":"counter"}"#;
    let cases: [BadRequest; 4] = [
        (
            "GET",
            invocations,
            &[],
            b"",
            405,
            "MethodNotAllowedException",
        ),
        (
            "POST",
            "/2015-03-31/functions/probe/wat",
            &[],
            b"",
            404,
            "UnknownOperationException",
        ),
        (
            "POST",
            invocations,
            &[("x-amz-client-context", "%%% not base64")],
            counter,
            400,
            "InvalidRequestContentException",
        ),
        (
            "POST",
            invocations,
            &[],
            b"{oops",
            400,
            "InvalidRequestContentException",
        ),
    ];
    let mut r = None;
    for (method, path, headers, body, status, error_type) in cases {
        let reply = request(s.port, method, path, headers, body.to_vec()).await;
        assert_eq!(reply.status, status, "{method} {path}");
        assert_eq!(
            reply.header("x-amzn-errortype"),
            Some(error_type),
            "{method} {path}"
        );
        r = Some(reply);
    }
    // The last case: the message says what could not be parsed.
    let r = r.expect("four cases ran");
    assert!(r.json()["message"].as_str().unwrap().contains("json"));
    // The server is still fine.
    let ok = request(s.port, "POST", invocations, &[], counter.to_vec()).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn metrics_count_invocations_in_prometheus_format() {
    let s = start(&fixture());
    for _ in 0..3 {
        request(
            s.port,
            "POST",
            "/2015-03-31/functions/probe/invocations",
            &[],
            br#"{"action":"counter"}"#.to_vec(),
        )
        .await;
    }
    let r = request(s.port, "GET", "/metrics", &[], vec![]).await;
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.contains("wasmfn_invocations_total{function=\"probe\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("wasmfn_cold_starts_total{function=\"probe\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("wasmfn_warm_instances{function=\"probe\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("wasmfn_duration_seconds_count{function=\"probe\"} 3"),
        "{text}"
    );
}

/// The count of `family{function="name"}` in a Prometheus text page.
fn metric(text: &str, family: &str, function: &str) -> u64 {
    let prefix = format!("{family}{{function=\"{function}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
}

#[tokio::test]
async fn event_and_scheduled_invocations_are_counted_in_metrics() {
    let s = start(&fixture());
    let accepted = request(
        s.port,
        "POST",
        "/2015-03-31/functions/probe/invocations",
        &[("X-Amz-Invocation-Type", "Event")],
        br#"{"action":"counter"}"#.to_vec(),
    )
    .await;
    assert_eq!(accepted.status, 202);
    // The async event runs in the background, and `ticker` fires every
    // second from the queue: wait until both have been counted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let r = request(s.port, "GET", "/metrics", &[], vec![]).await;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        let probe = metric(&text, "wasmfn_invocations_total", "probe");
        let ticker = metric(&text, "wasmfn_invocations_total", "ticker");
        if probe >= 1 && ticker >= 1 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the Event invocation and the schedule were not both counted in 30 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(metric(&text, "wasmfn_invocations_total", "probe"), 1);
    assert_eq!(metric(&text, "wasmfn_duration_seconds_count", "probe"), 1);
    assert!(metric(&text, "wasmfn_duration_seconds_count", "ticker") >= 1);
    assert_eq!(metric(&text, "wasmfn_errors_total", "probe"), 0);
}

#[test]
fn a_broken_manifest_stops_start_up_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("serverless.yml");
    std::fs::write(&manifest, "service: x\nfunctions:\n  f:\n    handler: [\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .args(["serve", "--listen", "127.0.0.1:0", "--manifest"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("serverless.yml:5:1") || stderr.contains("serverless.yml:4:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn schedules_invoke_their_function_through_the_queue() {
    let s = start(&fixture());
    let destination = s
        .state
        .path()
        .join("queue/destinations/ticker.success.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    let records: Vec<Value> = loop {
        let text = std::fs::read_to_string(&destination).unwrap_or_default();
        let records: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if records.len() >= 2 {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "the schedule did not fire twice in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(records[0]["requestPayload"], json!({"action": "counter"}));
    assert_eq!(records[0]["requestContext"]["condition"], "Success");
    // One warm instance served both firings.
    assert_eq!(records[1]["responsePayload"]["invocations"], 2);
}

async fn invoke(port: u16, function: &str, event: &Value) -> Reply {
    request(
        port,
        "POST",
        &format!("/2015-03-31/functions/{function}/invocations"),
        &[],
        event.to_string().into_bytes(),
    )
    .await
}

#[tokio::test]
async fn watch_reloads_a_changed_component_and_keeps_the_others_serving() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("f.wasm");
    std::fs::copy(crate::support::guest("probe"), &wasm).unwrap();
    let manifest = dir.path().join("serverless.yml");
    let probe = crate::support::guest("probe");
    std::fs::write(
        &manifest,
        format!(
            "service: w\nfunctions:\n  f:\n    handler: f.wasm\n  other:\n    handler: {}\n",
            probe.display()
        ),
    )
    .unwrap();
    let s = start_with(&manifest, &["--watch"]);
    let counter = json!({"action": "counter"});
    assert_eq!(invoke(s.port, "f", &counter).await.json()["invocations"], 1);
    assert_eq!(
        invoke(s.port, "other", &counter).await.json()["invocations"],
        1
    );

    // Replace f's component with another function entirely.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let tmp = dir.path().join("f.wasm.new");
    std::fs::copy(crate::support::guest("hello"), &tmp).unwrap();
    std::fs::rename(&tmp, &wasm).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = invoke(s.port, "f", &json!({})).await;
        if r.status == 200 && r.json()["statusCode"] == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "f was not reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // `other` kept its warm instance throughout.
    assert_eq!(
        invoke(s.port, "other", &counter).await.json()["invocations"],
        2
    );
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let s = start(&fixture());
    let port = s.port;
    let slow =
        tokio::spawn(
            async move { invoke(port, "probe", &json!({"action": "sleep", "n": 1500})).await },
        );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = Command::new("kill")
        .args(["-TERM", &s.child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let reply = slow.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["slept"], 1500);
    let mut s = s;
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = s.child.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    // New connections are refused once it is gone.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[tokio::test]
async fn a_failing_async_event_is_retried_twice_then_sent_to_its_on_failure_file() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("serverless.yml");
    let probe = crate::support::guest("probe");
    std::fs::write(
        &manifest,
        format!(
            "service: d\nfunctions:\n  failing:\n    handler: {}\n    destinations:\n      onFailure: out/failures.jsonl\n",
            probe.display()
        ),
    )
    .unwrap();
    let s = start_with(&manifest, &["--retry-delay", "0.05"]);
    let r = request(
        s.port,
        "POST",
        "/2015-03-31/functions/failing/invocations",
        &[("x-amz-invocation-type", "Event")],
        br#"{"action":"error","text":"always"}"#.to_vec(),
    )
    .await;
    assert_eq!(r.status, 202);
    let request_id = r.header("x-amzn-requestid").unwrap().to_string();
    let file = dir.path().join("out/failures.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no failure record");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let record: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(record["requestContext"]["requestId"], request_id.as_str());
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responsePayload"]["errorType"], "CustomError");
    assert_eq!(
        record["requestPayload"],
        json!({"action": "error", "text": "always"})
    );
    assert_eq!(text.lines().count(), 1, "one record per event");
}

#[tokio::test]
async fn the_rie_path_invokes_the_only_function_of_a_single_function_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("serverless.yml");
    std::fs::write(
        &manifest,
        format!(
            "service: rie\nfunctions:\n  only:\n    handler: {}\n",
            crate::support::guest("hello").display()
        ),
    )
    .unwrap();
    let s = start(&manifest);
    let r = invoke(s.port, "function", &json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["statusCode"], 200);
    assert_eq!(r.header("x-amz-executed-version"), Some("$LATEST"));
}
