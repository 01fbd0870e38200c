//! `wasmfn lambda` against a mock of the Lambda Runtime API: the only place
//! a mock is used, because on AWS the Runtime API is Lambda's own.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde_json::{json, Value};

use crate::support::{guest, shared_cache, KillOnDrop};

/// One event as the Runtime API hands it out.
#[derive(Clone)]
struct Next {
    id: String,
    body: String,
    headers: Vec<(&'static str, String)>,
}

/// What the runtime posted back.
#[derive(Debug, Clone)]
struct Posted {
    path: String,
    headers: http::HeaderMap,
    body: Value,
    /// The body as sent (a streamed response is not JSON).
    raw: Bytes,
}

#[derive(Default)]
struct Mock {
    events: Mutex<VecDeque<Next>>,
    posted: Mutex<Vec<Posted>>,
    in_flight_peak: Mutex<(usize, usize)>,
}

async fn serve_mock(mock: Arc<Mock>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let mock = mock.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<Incoming>| {
                    let mock = mock.clone();
                    async move { Ok::<_, Infallible>(answer(&mock, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

async fn answer(mock: &Mock, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    // Served at the root (as Lambda's is) and under `/.rt`, where
    // cargo-lambda's emulator serves it.
    let path = req.uri().path();
    let path = path.strip_prefix("/.rt").unwrap_or(path).to_string();
    if path == "/2018-06-01/runtime/invocation/next" {
        // Hand out the next event; with none left, hold the poll open as
        // Lambda does between events.
        let next = loop {
            if let Some(next) = mock.events.lock().unwrap().pop_front() {
                break next;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        {
            let mut p = mock.in_flight_peak.lock().unwrap();
            p.0 += 1;
            p.1 = p.1.max(p.0);
        }
        // The deadline is five seconds from when the event is handed out,
        // unless the event brings its own.
        let mut response = http::Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", &next.id)
            .header("content-type", "application/json");
        if !next.headers.iter().any(|(k, _)| *k == DEADLINE) {
            response = response.header(DEADLINE, deadline_in(5_000));
        }
        for (k, v) in &next.headers {
            response = response.header(*k, v);
        }
        return response.body(Full::new(Bytes::from(next.body))).unwrap();
    }
    let headers = req.headers().clone();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    if path.ends_with("/response") || path.ends_with("/error") {
        mock.in_flight_peak.lock().unwrap().0 -= 1;
    }
    mock.posted.lock().unwrap().push(Posted {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body,
    });
    http::Response::builder()
        .status(202)
        .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
        .unwrap()
}

const DEADLINE: &str = "Lambda-Runtime-Deadline-Ms";

fn deadline_in(ms: u64) -> String {
    (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + ms)
        .to_string()
}

fn event(id: &str, body: Value) -> Next {
    Next {
        id: id.into(),
        body: body.to_string(),
        headers: vec![
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:probe:live".into(),
            ),
            (
                "Lambda-Runtime-Trace-Id",
                format!("Root=1-5e1b4151-{id};Sampled=1"),
            ),
        ],
    }
}

fn start_runtime(
    port: u16,
    task_root: &std::path::Path,
    handler: &str,
    extra_env: &[(&str, &str)],
) -> KillOnDrop {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmfn"));
    cmd.arg("lambda")
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("_HANDLER", handler)
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("AWS_LAMBDA_FUNCTION_NAME", "probe")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "7")
        .env("WASMFN_CACHE_DIR", shared_cache())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    KillOnDrop(cmd.spawn().unwrap())
}

async fn wait_for_posts(mock: &Mock, n: usize) -> Vec<Posted> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let posted = mock.posted.lock().unwrap().clone();
        if posted.len() >= n {
            return posted;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} posts: {posted:?}",
            posted.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn task_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guest("probe"), dir.path().join("probe.wasm")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flow_through_the_runtime_api_with_their_context() {
    let mock = Arc::new(Mock::default());
    let client_context = json!({
        "client": {
            "installation_id": "i-1",
            "app_title": "t",
            "app_version_name": "1.0",
            "app_version_code": "1",
            "app_package_name": "p",
        },
        "custom": {"k": "v"},
        "env": {},
    });
    let mut echo = event("req-echo", json!({"action": "echo"}));
    echo.headers
        .push(("Lambda-Runtime-Client-Context", client_context.to_string()));
    let api_gateway = event("req-apigw", wasmfn::tooling::sample::api_gateway_v1(""));
    let sqs = event(
        "req-sqs",
        json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]}),
    );
    let failing = event("req-error", json!({"action": "error", "text": "nope"}));
    let trace_env = event(
        "req-env",
        json!({"action": "env", "text": "_X_AMZN_TRACE_ID"}),
    );
    let token_env = event(
        "req-token",
        json!({"action": "env", "text": "AWS_SESSION_TOKEN"}),
    );
    let private_env = event("req-private", json!({"action": "env", "text": "HOST_ONLY"}));
    *mock.events.lock().unwrap() = VecDeque::from([
        echo,
        api_gateway,
        sqs,
        failing,
        trace_env,
        token_env,
        private_env,
    ]);
    let port = serve_mock(mock.clone()).await;
    let root = task_root();
    let credentials = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "role-session"),
        ("HOST_ONLY", "not for guests"),
    ];
    let _runtime = start_runtime(port, root.path(), "probe.wasm", &credentials);

    let posted = wait_for_posts(&mock, 7).await;
    let by = |suffix: &str| {
        posted
            .iter()
            .find(|p| p.path.ends_with(suffix))
            .unwrap()
            .clone()
    };

    let echoed = by("/req-echo/response").body;
    assert_eq!(echoed["requestId"], "req-echo");
    assert_eq!(echoed["functionName"], "probe");
    assert_eq!(echoed["functionVersion"], "7");
    assert_eq!(echoed["memoryLimitInMb"], 256);
    assert_eq!(
        echoed["invokedFunctionArn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:probe:live"
    );
    assert_eq!(echoed["traceId"], "Root=1-5e1b4151-req-echo;Sampled=1");
    let cc: Value = serde_json::from_str(echoed["clientContext"].as_str().unwrap()).unwrap();
    assert_eq!(cc["custom"]["k"], "v");
    let remaining = echoed["remainingMs"].as_u64().unwrap();
    assert!(
        remaining > 1_000 && remaining <= 5_000,
        "the deadline header governs: {remaining}"
    );

    // API Gateway and SQS events reach the guest intact (the probe answers
    // an API Gateway event with a proxy response echoing it).
    let apigw = by("/req-apigw/response").body;
    assert_eq!(apigw["statusCode"], 200);
    let seen: Value = serde_json::from_str(apigw["body"].as_str().unwrap()).unwrap();
    assert_eq!(seen["requestContext"]["stage"], "dev");
    // The probe cannot decode an SQS event: that is a function error.
    let sqs = by("/req-sqs/error");
    assert_eq!(sqs.body["errorType"], "Runtime.UnmarshalError");

    assert_eq!(
        by("/req-env/response").body["value"],
        "Root=1-5e1b4151-req-env;Sampled=1",
        "the trace header is in _X_AMZN_TRACE_ID too"
    );

    assert_eq!(
        by("/req-token/response").body["value"],
        "role-session",
        "the execution role's credentials reach the function, as on Lambda"
    );
    assert_eq!(by("/req-private/response").body["value"], Value::Null);

    let error = by("/req-error/error");
    assert_eq!(
        error.body,
        json!({"errorType": "CustomError", "errorMessage": "nope"})
    );
    assert!(error
        .headers
        .contains_key("Lambda-Runtime-Function-Error-Type"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_module_is_an_init_error() {
    // At the Runtime API's address as Lambda sets it, and as cargo-lambda's
    // emulator prints it.
    for api in ["127.0.0.1:{port}", "http://127.0.0.1:{port}/.rt"] {
        let mock = Arc::new(Mock::default());
        let port = serve_mock(mock.clone()).await;
        let api = api.replace("{port}", &port.to_string());
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("broken.wasm"), b"not wasm at all").unwrap();
        let mut runtime = start_runtime(
            port,
            root.path(),
            "broken.wasm",
            &[("AWS_LAMBDA_RUNTIME_API", &api)],
        );
        let posted = wait_for_posts(&mock, 1).await;
        assert_eq!(posted[0].path, "/2018-06-01/runtime/init/error", "{api}");
        assert_eq!(posted[0].body["errorType"], "Runtime.InitError");
        assert!(posted[0].body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("broken.wasm"));
        let status = runtime.0.wait().unwrap();
        assert!(!status.success());
    }
}

/// Starts `wasmfn lambda` with only `env`, expecting it to refuse without
/// a panic; returns what it printed.
fn refused_start(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .arg("lambda")
        .env_clear()
        .env("_HANDLER", "probe.wasm")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_missing_lambda_variable_is_a_clear_error() {
    let stderr = refused_start(&[
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_FUNCTION_NAME", "probe"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
    ]);
    assert!(
        stderr.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_runtime_api_address_is_a_clear_error() {
    let stderr = refused_start(&[("AWS_LAMBDA_RUNTIME_API", "localhost")]);
    assert!(
        stderr.contains("AWS_LAMBDA_RUNTIME_API is `localhost`") && stderr.contains("host:port"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_is_an_epoch_time_or_the_time_left() {
    // Lambda sends the deadline as a Unix time in ms; cargo-lambda's
    // emulator sends the time left (600000). A 200 ms call succeeds under
    // both; under a time left of 1 s, a 1.5 s call times out.
    let mock = Arc::new(Mock::default());
    let sleep = |id: &str, ms: u64, deadline: Option<&str>| {
        let mut next = event(id, json!({"action": "sleep", "n": ms}));
        if let Some(deadline) = deadline {
            next.headers.push((DEADLINE, deadline.to_string()));
        }
        next
    };
    *mock.events.lock().unwrap() = VecDeque::from(vec![
        sleep("epoch", 200, None),
        sleep("left", 200, Some("600000")),
        sleep("short", 1500, Some("1000")),
    ]);
    let port = serve_mock(mock.clone()).await;
    let root = task_root();
    let _runtime = start_runtime(port, root.path(), "probe.wasm", &[]);
    let posted = wait_for_posts(&mock, 3).await;
    let by_id = |id: &str| {
        posted
            .iter()
            .find(|p| p.path.contains(&format!("/{id}/")))
            .unwrap_or_else(|| panic!("{id}: {posted:?}"))
    };
    for id in ["epoch", "left"] {
        assert!(by_id(id).path.ends_with("/response"), "{id}: {posted:?}");
        assert_eq!(by_id(id).body["slept"], 200);
    }
    let short = by_id("short");
    assert!(short.path.ends_with("/error"), "{short:?}");
    assert_eq!(short.body["errorType"], "Sandbox.Timedout", "{short:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_runs_invocations_in_parallel() {
    let mock = Arc::new(Mock::default());
    *mock.events.lock().unwrap() = (0..4)
        .map(|i| event(&format!("slow-{i}"), json!({"action": "sleep", "n": 800})))
        .collect();
    let port = serve_mock(mock.clone()).await;
    let root = task_root();
    let _runtime = start_runtime(
        port,
        root.path(),
        "probe.wasm",
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
    );
    let posted = wait_for_posts(&mock, 4).await;
    assert!(
        posted.iter().all(|p| p.path.ends_with("/response")),
        "{posted:?}"
    );
    // The mock counts events handed out and not yet answered: all four 800 ms
    // sleeps overlapped, each on its own pooled instance.
    assert_eq!(
        mock.in_flight_peak.lock().unwrap().1,
        4,
        "all four were in flight at once"
    );
}

/// Reads the ELF machine of an artifact: 62 is x86-64, 183 is AArch64.
fn elf_machine(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "an artifact is an ELF object");
    u16::from_le_bytes([bytes[18], bytes[19]])
}

fn unzip(zip_path: &std::path::Path, into: &std::path::Path) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let names = archive.file_names().map(String::from).collect();
    archive.extract(into).unwrap();
    names
}

/// Runs `wasmfn package` on a one-function manifest; returns the out dir.
fn package(dir: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    package_at(&package_fixture(dir), extra)
}

/// Runs `wasmfn package` on `manifest`; returns the out dir.
fn package_at(manifest: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let dir = manifest.parent().unwrap();
    let out = dir.join("dist");
    let status = Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .arg("package")
        .args(extra)
        .arg("--manifest")
        .arg(manifest)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn package_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    package_manifest(dir, &format!("handler: {}", guest("hello").display()))
}

/// A one-function manifest whose function `hello` is `spec` (YAML lines).
fn package_manifest(dir: &std::path::Path, spec: &str) -> std::path::PathBuf {
    let manifest = dir.join("serverless.yml");
    let spec = spec.replace('\n', "\n    ");
    std::fs::write(
        &manifest,
        format!(
            "service: pkg\nprovider:\n  memorySize: 256\nfunctions:\n  hello:\n    {spec}\n    timeout: 6\n"
        ),
    )
    .unwrap();
    manifest
}

#[test]
fn package_builds_x86_64_and_arm64_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let out = package(dir.path(), &["--arch", "both"]);
    let mut artifacts = Vec::new();
    for (arch, machine, triple) in [
        ("x86_64", 62, "x86_64-unknown-linux-gnu"),
        ("arm64", 183, "aarch64-unknown-linux-gnu"),
    ] {
        let unpacked = dir.path().join(arch);
        let names = unzip(&out.join(format!("pkg-{arch}.zip")), &unpacked);
        assert!(names.contains(&"serverless.yml".to_string()), "{names:?}");
        assert!(
            names.contains(&"functions/hello.wasm".to_string()),
            "{names:?}"
        );
        let artifact = names
            .iter()
            .find(|n| n.starts_with("artifacts/"))
            .expect("an artifact");
        let bytes = std::fs::read(unpacked.join(artifact)).unwrap();
        assert_eq!(
            elf_machine(&bytes),
            machine,
            "{arch} artifact is compiled for {arch}"
        );
        // The engine `wasmfn lambda` runs on that architecture names the
        // same artifact: the compatibility hash is part of the name.
        let mut options = crate::support::options(&dir.path().join("cache"));
        options.engine.target = Some(triple.to_string());
        let host = wasmfn::Host::new(options).unwrap();
        let wasm = std::fs::read(guest("hello")).unwrap();
        let (name, _) = host.precompile(&guest("hello"), &wasm).unwrap();
        assert_eq!(format!("artifacts/{name}"), *artifact);
        assert!(
            std::fs::read_to_string(out.join(format!("template-{arch}.yaml")))
                .unwrap()
                .contains(&format!("Architectures: [{arch}]"))
        );
        artifacts.push(bytes);
    }
    assert_ne!(
        artifacts[0], artifacts[1],
        "arm64 artifacts are not x86_64 copies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packaged_zip_starts_without_compiling_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = package(dir.path(), &[]);
    let task_root = dir.path().join("task");
    let names = unzip(&out.join("pkg-x86_64.zip"), &task_root);
    assert!(names.contains(&"bootstrap".to_string()));
    let artifacts_before = std::fs::read_dir(task_root.join("artifacts"))
        .unwrap()
        .count();

    let (posted, stderr) =
        run_bootstrap(dir.path(), &task_root, vec![event("first", json!({}))]).await;
    assert_eq!(
        posted[0].path,
        "/2018-06-01/runtime/invocation/first/response"
    );
    assert_eq!(posted[0].body["statusCode"], 200);
    assert!(
        !stderr.contains("compil"),
        "no Cranelift compilation at start-up: {stderr}"
    );
    assert_eq!(
        std::fs::read_dir(task_root.join("artifacts"))
            .unwrap()
            .count(),
        artifacts_before
    );
    assert!(
        !dir.path().join(".cache").exists(),
        "nothing compiled into a user cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_function_package_holds_only_its_function_and_starts_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("serverless.yml");
    std::fs::write(
        &manifest,
        format!(
            "service: pkg\nfunctions:\n  hello:\n    handler: {}\n  probe:\n    handler: {}\n",
            guest("hello").display(),
            guest("probe").display()
        ),
    )
    .unwrap();
    let out = package_at(&manifest, &["--function", "hello"]);
    assert!(!out.join("pkg-probe-x86_64.zip").exists());
    let task_root = dir.path().join("task");
    let mut names = unzip(&out.join("pkg-hello-x86_64.zip"), &task_root);
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names[0].starts_with("artifacts/"), "{names:?}");
    assert_eq!(
        names[1..],
        ["bootstrap", "functions/hello.wasm", "serverless.yml"]
    );
    let packaged = std::fs::read_to_string(task_root.join("serverless.yml")).unwrap();
    assert!(!packaged.contains("probe"), "{packaged}");
    let template = std::fs::read_to_string(out.join("template-x86_64.yaml")).unwrap();
    assert_eq!(
        template.matches("AWS::Serverless::Function").count(),
        1,
        "{template}"
    );
    assert!(
        template.contains("CodeUri: pkg-hello-x86_64.zip"),
        "{template}"
    );
    let (posted, stderr) =
        run_bootstrap(dir.path(), &task_root, vec![event("first", json!({}))]).await;
    assert!(posted[0].path.ends_with("/response"), "{posted:?}");
    assert!(!stderr.contains("compil"), "no compilation: {stderr}");

    let unknown = Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .args(["package", "--function", "nope", "--manifest"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(
        stderr.contains("no function `nope`") && stderr.contains("hello, probe"),
        "{stderr}"
    );
}

/// The arm64 bootstrap, cross-built without the compiler as README's
/// deploy section says, when this machine can run it: the unpacked arm64
/// `--function hello` zip runs under qemu-user against the mock Runtime API
/// and answers from the artifact compiled here on x86_64; without that
/// artifact its init fails, naming the component and the fix. `tests/run`
/// installs qemu-user and the cross toolchain and builds the bootstrap
/// before the suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arm64_package_answers_under_qemu_user() {
    let Some(qemu) = which("qemu-aarch64") else {
        eprintln!("skipped: no qemu-aarch64 on PATH (Debian: apt-get install qemu-user)");
        return;
    };
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::support::root().join("target"));
    let bootstrap = target_dir.join("aarch64-unknown-linux-gnu/lambda/wasmfn");
    assert!(
        bootstrap.exists(),
        "qemu-aarch64 is here but {} is not: build it with `cargo build --profile lambda --target aarch64-unknown-linux-gnu -p wasmfn --no-default-features` (Debian: apt-get install gcc-aarch64-linux-gnu)",
        bootstrap.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = package(
        dir.path(),
        &[
            "--arch",
            "arm64",
            "--function",
            "hello",
            "--bootstrap-arm64",
            bootstrap.to_str().unwrap(),
        ],
    );
    let task_root = dir.path().join("task");
    let names = unzip(&out.join("pkg-hello-arm64.zip"), &task_root);
    assert!(names.contains(&"bootstrap".to_string()), "{names:?}");
    let shipped = std::fs::read(task_root.join("bootstrap")).unwrap();
    assert_eq!(
        elf_machine(&shipped),
        183,
        "the bootstrap is an AArch64 binary"
    );

    let under_qemu = || {
        let mut command = Command::new(&qemu);
        // The cross toolchain's arm64 libc and loader.
        command
            .args(["-L", "/usr/aarch64-linux-gnu"])
            .arg(task_root.join("bootstrap"));
        command
    };
    let (posted, stderr) = run_bootstrap_with(
        under_qemu(),
        dir.path(),
        &task_root,
        vec![event("first", json!({})), event("second", json!({}))],
    )
    .await;
    assert_eq!(
        posted[0].path, "/2018-06-01/runtime/invocation/first/response",
        "{stderr}"
    );
    assert_eq!(posted[0].body["statusCode"], 200, "{stderr}");
    assert_eq!(
        posted[1].path, "/2018-06-01/runtime/invocation/second/response",
        "a warm second invocation: {stderr}"
    );
    assert!(!stderr.contains("compil"), "no compilation: {stderr}");

    // The same package without its artifact: a bootstrap with no compiler
    // cannot start, and says why.
    std::fs::remove_dir_all(task_root.join("artifacts")).unwrap();
    let (posted, stderr) = run_bootstrap_with(under_qemu(), dir.path(), &task_root, vec![]).await;
    assert_eq!(posted[0].path, "/2018-06-01/runtime/init/error", "{stderr}");
    let message = posted[0].body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("built without its compiler")
            && message.contains("hello")
            && message.contains("wasmfn package"),
        "{message}"
    );
}

/// `name`'s path on PATH.
fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// Starts an unpacked package as Lambda starts it, runs `events` through it
/// and returns what it posted and printed.
async fn run_bootstrap(
    dir: &std::path::Path,
    task_root: &std::path::Path,
    events: Vec<Next>,
) -> (Vec<Posted>, String) {
    run_bootstrap_with(
        Command::new(task_root.join("bootstrap")),
        dir,
        task_root,
        events,
    )
    .await
}

/// [`run_bootstrap`] with `command` as the process that runs `bootstrap`
/// (for example an emulator given it as an argument). With no events it
/// waits for the one post of a failed start.
async fn run_bootstrap_with(
    mut command: Command,
    dir: &std::path::Path,
    task_root: &std::path::Path,
    events: Vec<Next>,
) -> (Vec<Posted>, String) {
    let n = events.len().max(1);
    let mock = Arc::new(Mock::default());
    *mock.events.lock().unwrap() = VecDeque::from(events);
    let port = serve_mock(mock.clone()).await;
    let log = dir.join("bootstrap.log");
    // Started as Lambda starts it: `bootstrap`, no arguments, no cache flag.
    let child = command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("_HANDLER", "hello")
        .env("LAMBDA_TASK_ROOT", task_root)
        .env("AWS_LAMBDA_FUNCTION_NAME", "hello")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _runtime = KillOnDrop(child);
    let posted = wait_for_posts(&mock, n).await;
    (posted, std::fs::read_to_string(&log).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packaged_snapstart_function_starts_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = package_manifest(
        dir.path(),
        &format!(
            "handler: {}\nsnapStart: true\nenvironment:\n  PROBE_INIT_MAP: '100'\n  PROBE_INIT_TMP: '1'",
            guest("probe").display()
        ),
    );
    let out = package_at(&manifest, &[]);
    let task_root = dir.path().join("task");
    let names = unzip(&out.join("pkg-x86_64.zip"), &task_root);
    let shipped = std::fs::read(task_root.join("functions/hello.wasm")).unwrap();
    assert!(
        wasmfn::engine::is_snapshot(&shipped),
        "the package ships the snapshot: {names:?}"
    );
    let (posted, stderr) = run_bootstrap(
        dir.path(),
        &task_root,
        vec![
            event("first", json!({"action": "snapstart"})),
            event(
                "second",
                json!({"action": "read", "text": "/tmp/init/seed.txt"}),
            ),
        ],
    )
    .await;
    let counter = &posted[0].body;
    // Init ran once, when the package was made: the table it built is
    // there, and the instance was restored, not initialized.
    assert_eq!(counter["table"], 100, "{counter}");
    assert_eq!(counter["inits"], 1, "{counter}");
    assert_eq!(counter["afterRestore"], 1, "{counter}");
    // What init wrote to /tmp ships beside the snapshot, and is there.
    assert!(
        names
            .iter()
            .any(|n| n == "functions/hello.tmp/init/seed.txt"),
        "{names:?}"
    );
    assert_eq!(
        posted[1].body["content"], "written at init",
        "{:?}",
        posted[1].body
    );
    assert!(
        !stderr.contains("compil"),
        "no compilation at start-up: {stderr}"
    );
    assert!(
        !stderr.contains("snapStart"),
        "no snapshot taken at start-up: {stderr}"
    );
    assert!(
        !dir.path().join(".cache").exists(),
        "nothing compiled into a user cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_function_streams_to_the_runtime_api() {
    let mock = Arc::new(Mock::default());
    let port = serve_mock(mock.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guest("streamer"), dir.path().join("streamer.wasm")).unwrap();
    std::fs::write(
        dir.path().join("serverless.yml"),
        "service: s\nfunctions:\n  streamer:\n    handler: streamer.wasm\n    url:\n      invokeMode: RESPONSE_STREAM\n",
    )
    .unwrap();
    mock.events.lock().unwrap().extend([
        event(
            "ok",
            json!({"action": "chunks", "chunks": ["a", "b"], "http": true}),
        ),
        event("late", json!({"action": "fail", "chunks": ["partial"]})),
        event("early", json!({"action": "fail"})),
    ]);
    let _runtime = start_runtime(port, dir.path(), "streamer", &[]);
    let posted = wait_for_posts(&mock, 3).await;

    let ok = &posted[0];
    assert_eq!(ok.path, "/2018-06-01/runtime/invocation/ok/response");
    let header = |p: &Posted, name: &str| {
        p.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        header(ok, "Lambda-Runtime-Function-Response-Mode"),
        ["streaming"]
    );
    assert_eq!(header(ok, "Transfer-Encoding"), ["chunked"]);
    assert_eq!(
        header(ok, "Trailer"),
        [
            "Lambda-Runtime-Function-Error-Type",
            "Lambda-Runtime-Function-Error-Body"
        ]
    );
    assert_eq!(
        header(ok, "Content-Type"),
        ["application/vnd.awslambda.http-integration-response"]
    );
    // The guest's prelude became the runtime's, then the body.
    let raw = &ok.raw[..];
    let at = raw.windows(8).position(|w| w == [0; 8]).expect("a prelude");
    let prelude: Value = serde_json::from_slice(&raw[..at]).unwrap();
    assert_eq!(prelude["statusCode"], 201);
    assert_eq!(prelude["headers"]["x-streamed"], "yes");
    assert_eq!(prelude["cookies"], json!(["flavour=oat"]));
    assert_eq!(&raw[at + 8..], b"ab");

    // An error after the first chunk is sent as the error trailers.
    let late = &posted[1];
    assert!(late.path.ends_with("/late/response"), "{late:?}");
    let text = String::from_utf8_lossy(&late.raw).into_owned();
    let (body, trailers) = text
        .split_once("Lambda-Runtime-Function-Error-Type: ")
        .expect("error trailers");
    assert!(body.ends_with("partial"), "{text}");
    let (_kind, encoded) = trailers
        .split_once("Lambda-Runtime-Function-Error-Body: ")
        .expect("an error body");
    use base64::Engine as _;
    let error = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_end())
        .unwrap();
    let error: Value = serde_json::from_slice(&error).unwrap();
    assert_eq!(error["errorType"], "StreamFailed");

    // An error before anything was written goes to /error, as when buffered.
    let early = &posted[2];
    assert!(early.path.ends_with("/early/error"), "{early:?}");
    assert_eq!(early.body["errorType"], "StreamFailed");
}
