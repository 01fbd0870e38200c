//! JavaScript handlers: Node.js Lambda code built with the pinned toolchain
//! of `js/` and run through the real host, as a library, as `wasmfn invoke`
//! and behind `wasmfn serve`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use wasmfn::{ArtifactSource, FunctionConfig, JsBuilder, NodeHandler};

use crate::support::{
    assert_clean_failure, host, invoke, json, load_js, root, shared_cache, spawn_serve, text,
    wasmfn,
};

#[tokio::test]
async fn the_context_and_process_env_are_nodes() {
    let host = host();
    let f = load_js(&host, "probe", "handler");
    let inv = invoke(&f, &json!({"action": "context"})).await;
    let out = json(inv.result.as_ref().expect("ok"));
    assert_eq!(out["awsRequestId"], inv.request_id.as_str());
    assert_eq!(out["functionName"], "probe");
    assert_eq!(out["functionVersion"], "$LATEST");
    assert_eq!(
        out["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:probe"
    );
    // Node's runtime gives the memory as a string.
    assert_eq!(out["memoryLimitInMB"], "128");
    assert_eq!(out["logGroupName"], "/aws/lambda/probe");
    assert_eq!(out["logStreamName"], out["logStreamEnv"]);
    let remaining = out["remaining"].as_u64().unwrap();
    assert!(remaining > 0 && remaining <= 2000, "{remaining}");
    assert_eq!(out["callbackWaitsForEmptyEventLoop"], true);
    // Module scope ran at init with the function's environment, not the
    // build's.
    assert_eq!(out["initRegion"], "us-east-1");
    assert_eq!(out["initGreeting"], "hello");
    assert_eq!(out["greeting"], "hello");
    assert_eq!(out["handlerEnv"], "index.handler");
}

#[tokio::test]
async fn globals_survive_between_warm_invocations() {
    let host = host();
    let f = load_js(&host, "probe", "handler");
    for n in 1..=3 {
        let inv = invoke(&f, &json!({"action": "counter"})).await;
        assert_eq!(json(inv.result.as_ref().unwrap())["invocations"], n);
    }
}

#[tokio::test]
async fn thrown_errors_have_nodes_shape() {
    let host = host();
    let f = load_js(&host, "probe", "handler");
    let inv = invoke(&f, &json!({"action": "throw", "detail": "no name"})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, "ValidationError");
    assert_eq!(err.error_message, "bad input: no name");
    assert_eq!(err.stack_trace[0], "ValidationError: bad input: no name");
    assert!(
        err.stack_trace[1..]
            .iter()
            .all(|l| l.starts_with("    at ")),
        "{:?}",
        err.stack_trace
    );
    let inv = invoke(&f, &json!({"action": "reject-later"})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, "TypeError");
    assert_eq!(err.error_message, "rejected after a timer");
    let inv = invoke(&f, &json!({"action": "throw-string"})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(
        (err.error_type.as_str(), err.error_message.as_str()),
        ("string", "just a string")
    );
    // A handled error leaves the instance warm: the next call counts on.
    let inv = invoke(&f, &json!({"action": "counter"})).await;
    assert_eq!(json(inv.result.as_ref().unwrap())["invocations"], 4);
}

#[tokio::test]
async fn callback_sync_and_context_methods_answer() {
    let host = host();
    let f = load_js(&host, "callback", "callbackHandler");
    let inv = invoke(&f, &json!({"action": "x"})).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"via": "callback", "echo": {"action": "x"}})
    );
    let inv = invoke(&f, &json!({"action": "succeed"})).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"via": "context.succeed"})
    );
    let inv = invoke(&f, &json!({"action": "fail"})).await;
    assert_eq!(inv.result.unwrap_err().error_message, "callback failed");
    let f = load_js(&host, "sync", "syncHandler");
    let inv = invoke(&f, &json!({"n": 1})).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"sync": true, "echo": {"n": 1}})
    );
}

#[tokio::test]
async fn timers_buffer_and_missing_builtins() {
    let host = host();
    let f = load_js(&host, "probe", "handler");
    let inv = invoke(&f, &json!({"action": "wait", "ms": 30})).await;
    assert!(
        json(inv.result.as_ref().unwrap())["waited"]
            .as_u64()
            .unwrap()
            >= 30
    );
    assert!(inv.report.duration >= Duration::from_millis(30));
    let inv = invoke(&f, &json!({"action": "buffer", "text": "héllo"})).await;
    assert_eq!(
        json(inv.result.as_ref().unwrap()),
        json!({"base64": "aMOpbGxv", "hex": "68c3a96c6c6f"})
    );
    let inv = invoke(&f, &json!({"action": "require-fs"})).await;
    let err = inv.result.unwrap_err();
    assert_eq!(err.error_type, "Runtime.ImportModuleError");
    assert!(err.error_message.contains("'fs'"), "{}", err.error_message);
}

#[tokio::test]
async fn console_methods_are_cloudwatch_lines_with_their_levels() {
    let host = host();
    let f = load_js(&host, "probe", "handler");
    let inv = invoke(&f, &json!({"action": "log"})).await;
    assert!(inv.result.is_ok());
    let log = inv.log_text();
    let id = &inv.request_id;
    for (level, message) in [
        ("INFO", "log line 1"),
        ("INFO", "info { a: 1 }"),
        ("WARN", "warn"),
        ("ERROR", "error\rsecond line"),
        ("DEBUG", "debug"),
    ] {
        let suffix = format!("\t{id}\t{level}\t{message}");
        assert!(
            log.lines().any(|l| l.ends_with(&suffix)),
            "no `{suffix}` in:\n{log}"
        );
    }
    // One call, one line, each stamped once.
    assert_eq!(log.lines().count(), 5, "{log}");
    assert!(log.lines().all(|l| l.matches('\t').count() == 3), "{log}");
}

#[tokio::test]
async fn a_spinning_handler_times_out_and_the_next_call_is_fresh() {
    let host = host();
    let f = load_js(&host, "probe", "handler");
    invoke(&f, &json!({"action": "counter"})).await;
    let inv = invoke(&f, &json!({"action": "spin"})).await;
    assert_eq!(inv.result.unwrap_err().error_type, "Sandbox.Timedout");
    let inv = invoke(&f, &json!({"action": "counter"})).await;
    assert_eq!(json(inv.result.as_ref().unwrap())["invocations"], 1);
}

#[test]
fn init_failures_are_lambdas() {
    crate::support::js_probe();
    let manifest = root().join("tests/guests/js-probe/serverless.yml");
    let manifest = manifest.to_str().unwrap();
    for (function, error_type, error_message) in [
        (
            "missing",
            "Runtime.HandlerNotFound",
            "index.nope is undefined or not exported",
        ),
        ("broken-init", "TypeError", "FAIL_INIT is set"),
    ] {
        let out = wasmfn(
            &shared_cache(),
            &["invoke", function, "--manifest", manifest],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let err = json(&out.stdout);
        assert_eq!(err["errorType"], error_type);
        assert_eq!(err["errorMessage"], error_message);
    }
}

#[tokio::test]
async fn the_engine_without_a_code_directory_fails_init_naming_the_bundle() {
    let built = crate::support::js_probe();
    let host = host();
    // The engine loaded bare: no /var/task, so `task.bundle` has nothing
    // to give.
    let f = host
        .load(&built.engine, FunctionConfig::new("no-code"))
        .expect("load");
    let inv = invoke(&f, &json!({})).await;
    let err = inv.result.expect_err("init fails");
    assert!(
        err.error_message
            .contains("reading /var/task/index.js: the function has no code directory"),
        "{err:?}"
    );
}

/// A one-function Node.js project in a fresh directory, invoked once.
fn invoke_node_project(handler: &str, files: &[(&str, &str)]) -> std::process::Output {
    crate::support::invoke_project("nodejs20.x", handler, files)
}

#[test]
fn a_syntax_error_is_reported_at_build_time_with_its_place() {
    let out = invoke_node_project(
        "index.handler",
        &[(
            "index.js",
            "exports.handler = async () => {\n  return { ok: true ;\n};\n",
        )],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("Runtime.UserCodeSyntaxError"), "{stderr}");
    assert!(stderr.contains("index.js:2:"), "{stderr}");
}

#[test]
fn a_node_handler_file_that_is_missing_is_named() {
    let out = invoke_node_project("app.handler", &[]);
    assert_clean_failure(&out, &["app.handler", "app.js"]);
}

/// Copies the typical Serverless Framework project of the fixtures into a
/// fresh directory, as a user's checkout would be.
fn node_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/all/fixtures/node-hello");
    for file in ["serverless.yml", "hello-world.js"] {
        std::fs::copy(fixture.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .arg("--cache-dir")
        .arg(shared_cache())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_node_project_runs_unchanged_with_invoke_and_serve() {
    crate::support::js_probe(); // the toolchain, installed once
    let project = node_project();
    let out = run_in(project.path(), &["invoke", "hello"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let response = json(&out.stdout);
    assert_eq!(response["statusCode"], 200);
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["message"], "Hello World!");
    assert_eq!(body["region"], "us-east-1");
    let id = body["requestId"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("START RequestId: {id} Version: $LATEST")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("\t{id}\tWARN\tcareful: list has 3 items")),
        "{stderr}"
    );

    // The same folder behind `wasmfn serve`, driven by curl.
    let state = tempfile::tempdir().unwrap();
    let (_server, port) = spawn_serve(
        project.path(),
        &["--state-dir".as_ref(), state.path().as_os_str()],
    );
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-i", "--max-time", "30"])
            .args(args)
            .output()
            .expect("curl");
        text(&out.stdout)
    };
    let reply = curl(&[&format!("http://127.0.0.1:{port}/hello")]);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"message\":\"Hello World!\""), "{reply}");
    let preflight = curl(&[
        "-X",
        "OPTIONS",
        "-H",
        "Origin: http://example.com",
        &format!("http://127.0.0.1:{port}/hello"),
    ]);
    assert!(preflight.starts_with("HTTP/1.1 200"), "{preflight}");
    assert!(
        preflight
            .to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{preflight}"
    );
}

#[test]
fn a_second_javascript_function_compiles_nothing() {
    let probe = crate::support::js_probe();
    let project = node_project();
    let entry = std::fs::canonicalize(project.path().join("hello-world.js")).unwrap();
    let built = JsBuilder::new(&shared_cache())
        .quiet()
        .build(&NodeHandler {
            entry,
            node_paths: Vec::new(),
        })
        .unwrap();
    // Every JavaScript function runs on the one engine component, so the
    // probe's compiled artifact serves this function too.
    assert_eq!(built.engine, probe.engine);
    assert_ne!(built.task_root, probe.task_root);
    let mut config = FunctionConfig::new("hello");
    config.handler = Some("hello-world.handler".into());
    config.task_root = Some(built.task_root);
    let f = host().load(&built.engine, config).unwrap();
    assert_eq!(f.load_stats().source, ArtifactSource::Cache);
}

#[test]
fn wasmfn_build_builds_ahead_so_invoke_builds_nothing() {
    crate::support::js_probe(); // the toolchain and the engine, once
    let project = node_project();
    let out = run_in(project.path(), &["build"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.starts_with("hello: component "), "{stdout}");
    assert!(stdout.contains("artifact cached"), "{stdout}");
    let out = run_in(project.path(), &["invoke", "hello"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("wasmfn: building"), "{stderr}");
    assert!(!stderr.contains("wasmfn: compiled"), "{stderr}");
    let out = run_in(project.path(), &["build", "nope"]);
    assert_clean_failure(&out, &["nope", "hello"]);
}
