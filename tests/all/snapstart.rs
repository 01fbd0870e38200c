//! SnapStart: instances start from a snapshot of `init`, taken once at
//! load time with the function's real configuration.

use std::path::Path;

use serde_json::json;
use wasmfn::{FunctionConfig, Host, LoadError, Policy};

use crate::support::{guest, host, invoke, js_probe, json, options, py_probe};

/// The probe with SnapStart, a fresh instance per invocation (so that
/// every call is a restore), and `env` on top.
fn snap_probe(
    host: &Host,
    env: &[(&str, &str)],
) -> Result<std::sync::Arc<wasmfn::Function>, LoadError> {
    let mut config = FunctionConfig::new("snap-probe");
    config.snap_start = true;
    config.pool.policy = Policy::Fresh;
    for (k, v) in env {
        config.environment.push((k.to_string(), v.to_string()));
    }
    host.load(&guest("probe"), config)
}

/// What two invocations of the `random` action drew (each in a restored
/// instance of its own, under the fresh policy).
async fn two_draws(f: &std::sync::Arc<wasmfn::Function>) -> (serde_json::Value, serde_json::Value) {
    let draw = || async {
        json(
            &invoke(f, &json!({"action": "random"}))
                .await
                .result
                .unwrap(),
        )
    };
    (draw().await, draw().await)
}

fn snapshots(cache: &Path) -> usize {
    std::fs::read_dir(cache.join("snapshots"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_restored_instance_has_init_done_and_init_never_runs_again() {
    let host = host();
    let f = snap_probe(&host, &[("PROBE_INIT_MAP", "1000")]).expect("snapshot");
    for _ in 0..3 {
        let inv = invoke(&f, &json!({"action": "snapstart"})).await;
        assert!(
            inv.report.init_duration.is_some(),
            "every call is a cold start (policy fresh)"
        );
        let counter = json(inv.result.as_ref().expect("counter"));
        // The global built at init is there, and init ran once: in the
        // snapshot, not in this instance (it would count 2).
        assert_eq!(counter["table"], 1000, "{counter}");
        assert_eq!(counter["inits"], 1, "{counter}");
        assert_eq!(counter["invocations"], 1, "{counter}");
        assert_eq!(counter["beforeSnapshot"], 1, "{counter}");
        assert_eq!(counter["afterRestore"], 1, "{counter}");
        assert_eq!(counter["initializationType"], "snap-start");
        // What init printed went out with the snapshot; the restore hook's
        // line is this invocation's.
        let logs = inv.log_text();
        assert!(!logs.contains("probe init"), "{logs}");
        assert!(logs.contains("after restore"), "{logs}");
    }
}

#[tokio::test]
async fn the_report_line_shows_a_restore_not_an_init() {
    let host = host();
    let f = snap_probe(&host, &[]).expect("snapshot");
    let inv = invoke(&f, &json!({"action": "log", "n": 1})).await;
    let line = inv.report.line(&inv.request_id);
    assert!(line.contains("\tRestore Duration: "), "{line}");
    assert!(line.contains("\tBilled Restore Duration: "), "{line}");
    assert!(!line.contains("Init Duration"), "{line}");
    // stdout and stderr work in the restored instance: libc's handles were
    // given back before the snapshot and are fetched anew.
    let logs = inv.log_text();
    assert!(logs.contains("line 0 to stdout"), "{logs}");
    assert!(logs.contains("one line to stderr"), "{logs}");
    let plain = crate::support::load(&host, "probe", FunctionConfig::new("plain"));
    let inv = invoke(&plain, &json!({"action": "snapstart"})).await;
    let line = inv.report.line(&inv.request_id);
    assert!(
        line.contains("\tInit Duration: ") && !line.contains("Restore"),
        "{line}"
    );
    assert_eq!(
        json(&inv.result.unwrap())["initializationType"],
        "on-demand"
    );
}

#[tokio::test]
async fn two_restored_instances_draw_different_random_numbers() {
    let host = host();
    let f = snap_probe(&host, &[]).expect("snapshot");
    let (a, b) = two_draws(&f).await;
    assert_ne!(a["random"], b["random"]);
}

#[tokio::test]
async fn files_work_in_a_restored_instance() {
    let host = host();
    let f = snap_probe(&host, &[]).expect("snapshot");
    let inv = invoke(
        &f,
        &json!({"action": "write", "text": "/tmp/after", "n": 3}),
    )
    .await;
    assert_eq!(json(&inv.result.unwrap())["written"], 3);
}

#[tokio::test]
async fn what_init_wrote_to_tmp_is_in_every_restored_instance() {
    let host = host();
    let f = snap_probe(&host, &[("PROBE_INIT_TMP", "1")]).expect("snapshot");
    let read = || async {
        let inv = invoke(&f, &json!({"action": "read", "text": "/tmp/init/seed.txt"})).await;
        json(&inv.result.unwrap())["content"].clone()
    };
    assert_eq!(read().await, "written at init");
    // Each restored instance has a copy of its own: a write in one (under
    // the fresh policy, every call is a new instance) is not in the next.
    let write = invoke(
        &f,
        &json!({"action": "write", "text": "/tmp/init/seed.txt", "n": 3}),
    )
    .await;
    assert_eq!(json(&write.result.unwrap())["written"], 3);
    assert_eq!(read().await, "written at init");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_request_finished_at_init_snapshots_and_the_restored_can_request_again() {
    // Connections are the host's (its pooled client), not the guest's: an
    // init whose request is done holds no handle, and a restored instance
    // reaches the origin through the host as any instance does. (An init
    // still holding a request or response is refused as holding "other"
    // resources.)
    let origin = crate::outbound::origin().await;
    let host = host();
    let mut config = FunctionConfig::new("snap-fetch");
    config.snap_start = true;
    config.pool.policy = Policy::Fresh;
    config.allowed_outbound = std::sync::Arc::new(
        wasmfn::capability::http::AllowList::parse(&[format!("http://{origin}")]).unwrap(),
    );
    config.environment.push((
        "PROBE_INIT_FETCH".into(),
        format!("http://{origin}/at-init"),
    ));
    let f = tokio::task::block_in_place(|| host.load(&guest("probe"), config)).expect("snapshot");
    let inv = invoke(&f, &json!({"action": "snapstart"})).await;
    assert_eq!(json(&inv.result.unwrap())["initFetched"], "pong /at-init");
    let inv = invoke(
        &f,
        &json!({"action": "fetch", "text": format!("http://{origin}/again")}),
    )
    .await;
    assert_eq!(json(&inv.result.unwrap())["body"], "pong /again");
}

#[test]
fn a_failing_init_fails_the_snapshot_with_the_guests_message() {
    let host = host();
    let err = snap_probe(&host, &[("PROBE_FAIL_INIT", "1")])
        .err()
        .expect("no snapshot of a failing init");
    let message = err.to_string();
    assert!(matches!(err, LoadError::Snapshot { .. }), "{message}");
    assert!(message.contains("snap-probe"), "{message}");
    assert!(
        message.contains("ConfigError: PROBE_FAIL_INIT is set"),
        "{message}"
    );
    assert!(
        message.contains("probe init"),
        "init's output is shown: {message}"
    );
}

#[test]
fn a_file_left_open_by_init_is_refused_with_the_fix() {
    let host = host();
    let err = snap_probe(&host, &[("PROBE_INIT_OPEN", "1")])
        .err()
        .expect("no snapshot holding a file");
    let message = err.to_string();
    assert!(message.contains("1 open host resource"), "{message}");
    assert!(
        message.contains("Close them before init returns"),
        "{message}"
    );
}

#[test]
fn the_snapshot_is_taken_again_when_what_init_sees_changes() {
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(options(cache.path())).unwrap();
    let layer = tempfile::tempdir().unwrap();
    std::fs::write(layer.path().join("settings.json"), "{}").unwrap();
    let load = |env: &str| {
        let mut config = FunctionConfig::new("snap");
        config.snap_start = true;
        config.environment.push(("SETTING".into(), env.into()));
        config.layers.push(layer.path().to_owned());
        host.load(&guest("probe"), config).expect("snapshot")
    };
    load("a");
    assert_eq!(snapshots(cache.path()), 1);
    load("a");
    assert_eq!(
        snapshots(cache.path()),
        1,
        "the same configuration reuses its snapshot"
    );
    load("b");
    assert_eq!(
        snapshots(cache.path()),
        2,
        "a changed environment takes a new one"
    );
    std::fs::write(layer.path().join("settings.json"), r#"{"changed": true}"#).unwrap();
    load("b");
    assert_eq!(
        snapshots(cache.path()),
        3,
        "a changed layer takes a new one"
    );
    let mut config = FunctionConfig::new("snap");
    config.snap_start = true;
    host.load(&guest("hello"), config).expect("snapshot");
    assert_eq!(snapshots(cache.path()), 4, "another component has its own");
}

#[tokio::test]
async fn a_javascript_function_starts_from_its_snapshot() {
    let host = host();
    let built = js_probe();
    let mut config = FunctionConfig::new("js-snap");
    config.handler = Some("index.handler".into());
    config.task_root = Some(built.task_root);
    config.snap_start = true;
    config.pool.policy = Policy::Fresh;
    // A module scope that logs: the engine writes console lines on streams
    // it gives back, so the snapshot holds none.
    config.environment.push(("LOG_AT_INIT".into(), "1".into()));
    let f = host.load(&built.engine, config).expect("snapshot");
    let inv = invoke(&f, &json!({"action": "counter"})).await;
    assert!(inv
        .report
        .line(&inv.request_id)
        .contains("Restore Duration"));
    let counter = json(&inv.result.expect("counter"));
    assert_eq!(counter["invocations"], 1, "{counter}");
    assert_eq!(
        counter["hooks"],
        json!({"beforeSnapshot": 1, "afterRestore": 1}),
        "{counter}"
    );
    assert_eq!(counter["initializationType"], "snap-start");
    let log = invoke(&f, &json!({"action": "log"})).await;
    assert!(
        log.log_text().contains("\tWARN\twarn"),
        "{}",
        log.log_text()
    );
    let (a, b) = two_draws(&f).await;
    assert_ne!(a["uuid"], b["uuid"]);
    assert_ne!(
        a["random"], b["random"],
        "Math.random is not replayed from the snapshot"
    );
}

/// The Python probe with SnapStart, a fresh instance per invocation, and
/// `env` on top.
fn py_snap(
    host: &Host,
    env: &[(&str, &str)],
) -> Result<std::sync::Arc<wasmfn::Function>, LoadError> {
    let built = py_probe();
    let mut config = FunctionConfig::new("py-snap");
    config.handler = Some("probe.handler".into());
    config.task_root = Some(built.task_root);
    config.snap_start = true;
    config.pool.policy = Policy::Fresh;
    for (k, v) in env {
        config.environment.push((k.to_string(), v.to_string()));
    }
    host.load(&built.engine, config)
}

#[tokio::test]
async fn a_python_function_starts_from_its_snapshot() {
    let host = host();
    let f = py_snap(
        &host,
        &[("PROBE_INIT_MAP", "1000"), ("PROBE_MARK", "at init")],
    )
    .expect("snapshot");
    let snapstart = || async {
        let inv = invoke(&f, &json!({"action": "snapstart"})).await;
        assert!(inv
            .report
            .line(&inv.request_id)
            .contains("Restore Duration"));
        let logs = inv.log_text();
        assert!(!logs.contains("py probe init"), "{logs}");
        assert!(logs.contains("after restore"), "{logs}");
        json(&inv.result.expect("snapstart"))
    };
    let first = snapstart().await;
    // init's module scope (a package imported, a table built, the hooks
    // registered) is there, and ran once: in the snapshot.
    assert_eq!(first["invocations"], 1, "{first}");
    assert_eq!(first["inits"], 1, "{first}");
    assert_eq!(first["table"], 1000, "{first}");
    assert_eq!(
        first["hooks"],
        json!({"beforeSnapshot": 1, "afterRestore": 1}),
        "{first}"
    );
    assert_eq!(first["initializationType"], "snap-start");
    assert_eq!(first["initEnv"], "at init", "{first}");
    // The working directory is /var/task again after the restore.
    assert_eq!(first["data"], "task file", "{first}");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = snapstart().await;
    // What init read of the clock is frozen in the snapshot; the clock is
    // not.
    assert_eq!(second["initTime"], first["initTime"]);
    let (init, now) = (
        second["initTime"].as_f64().unwrap(),
        second["now"].as_f64().unwrap(),
    );
    assert!(now - init >= 0.05, "{second}");
    assert!(now > first["now"].as_f64().unwrap(), "{first} {second}");
    let log = invoke(&f, &json!({"action": "log"})).await;
    let text = log.log_text();
    assert!(
        text.contains("[WARNING]") && text.contains("warn"),
        "{text}"
    );
    assert!(text.contains("to stderr"), "{text}");
    let late = invoke(&f, &json!({"action": "import"})).await;
    assert_eq!(json(&late.result.unwrap())["late"], "imported late");
    let (a, b) = two_draws(&f).await;
    assert_ne!(a["uuid"], b["uuid"]);
    assert_ne!(
        a["random"], b["random"],
        "random is seeded anew in every restored instance"
    );
}

#[test]
fn a_python_file_left_open_by_init_is_refused_with_the_fix() {
    let host = host();
    let err = py_snap(&host, &[("PROBE_INIT_OPEN", "1")])
        .err()
        .expect("refused");
    let message = err.to_string();
    assert!(message.contains("py-snap"), "{message}");
    assert!(message.contains("file(s) or directories"), "{message}");
    assert!(message.contains("open() or os at init"), "{message}");
}
