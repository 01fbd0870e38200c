//! Shared fixtures: the guests, built once per test run, and hosts.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, OnceLock};

use wasmfn::{
    EngineOptions, Function, FunctionConfig, GuestBuilder, Host, HostOptions, Invocation,
    InvokeRequest, JsBuilder, JsFunction, NodeHandler,
};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_owned()
}

/// The `.wasm` of guest `name`, building every guest on first use. The
/// guests live in their own workspace (`functions/`), so this nested cargo
/// never contends with the cargo running these tests.
pub fn guest(name: &str) -> PathBuf {
    static GUESTS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    let guests = GUESTS.get_or_init(|| {
        GuestBuilder::new()
            .build_workspace(&root().join("functions"))
            .expect("building the guests (is the wasm32-wasip2 target installed?)")
    });
    guests
        .get(name)
        .unwrap_or_else(|| panic!("no guest named {name}; have {:?}", guests.keys()))
        .clone()
}

/// A cache directory shared by the tests that do not test the cache itself,
/// so each guest is compiled once per run.
pub fn shared_cache() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
        .to_owned()
}

/// Host options for tests: a small pool (tests run in parallel, and each
/// pool reserves address space) and the given cache.
pub fn options(cache_dir: &Path) -> HostOptions {
    HostOptions {
        engine: EngineOptions {
            max_instances: 20,
            ..EngineOptions::default()
        },
        cache_dir: cache_dir.to_owned(),
        ..HostOptions::default()
    }
}

/// A host on the shared cache.
pub fn host() -> Host {
    Host::new(options(&shared_cache())).expect("host")
}

/// Loads guest `name` on `host` with `config`.
pub fn load(host: &Host, name: &str, config: FunctionConfig) -> Arc<Function> {
    host.load(&guest(name), config).expect("load")
}

/// The JavaScript probe (`tests/guests/js-probe/index.js`) built for the
/// engine, and the engine compiled, once per run; its exports share the
/// bundle.
pub fn js_probe() -> JsFunction {
    static BUILT: OnceLock<JsFunction> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let entry =
                std::fs::canonicalize(root().join("tests/guests/js-probe/index.js")).unwrap();
            let built = JsBuilder::new(&shared_cache())
                .quiet()
                .build(&NodeHandler {
                    entry,
                    node_paths: Vec::new(),
                })
                .unwrap_or_else(|e| panic!("building the JavaScript probe: {e}"));
            // Compile the engine's artifact once, before tests load it in
            // parallel.
            host()
                .load(&built.engine, FunctionConfig::new("js-probe"))
                .expect("load");
            built
        })
        .clone()
}

/// The JavaScript probe as function `name` running export `export`.
pub fn load_js(host: &Host, name: &str, export: &str) -> Arc<Function> {
    let built = js_probe();
    let mut config = FunctionConfig::new(name);
    config.handler = Some(format!("index.{export}"));
    config.timeout = std::time::Duration::from_secs(2);
    config.environment.push(("GREETING".into(), "hello".into()));
    config.task_root = Some(built.task_root);
    host.load(&built.engine, config).expect("load")
}

/// A probe function with Lambda's defaults, on a fresh host.
pub fn probe() -> (Host, Arc<Function>) {
    let host = host();
    let f = load(&host, "probe", FunctionConfig::new("probe"));
    (host, f)
}

/// Invokes `f` with `event` (as JSON) and a default request.
pub async fn invoke(f: &Arc<Function>, event: &serde_json::Value) -> Invocation {
    f.invoke(event.to_string().as_bytes(), InvokeRequest::default())
        .await
        .expect("not throttled")
}

/// Parses a JSON payload.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// Runs the `wasmfn` binary in the repository root with `args`.
pub fn wasmfn(cache: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wasmfn");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Lossy UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bad input: exit status 2, one clear line on stderr, never a panic.
pub fn assert_clean_failure(out: &Output, mentions: &[&str]) {
    // A valid component is compiled (and cached) before its exports are
    // checked; that progress line is not part of the error.
    let stderr: String = text(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("wasmfn: compiled "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line, got: {stderr}"
    );
    assert!(stderr.starts_with("wasmfn: error: "), "{stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "expected {m:?} in: {stderr}");
    }
}

/// A child process (a server, a runtime) that is killed and reaped when the
/// test that started it ends, however it ends.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `wasmfn serve` in `dir` with `args` (after `--listen`) on a free
/// port, and waits until it listens. Returns the process and the port.
pub fn spawn_serve(dir: &Path, args: &[&std::ffi::OsStr]) -> (KillOnDrop, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_wasmfn"))
        .arg("--cache-dir")
        .arg(shared_cache())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = KillOnDrop(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "wasmfn serve did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, port)
}

/// Function `name` of the manifest at `manifest` (relative to the repo),
/// built as `wasmfn invoke` builds it (JavaScript and Python functions on
/// their engines, with their code at /var/task) and loaded on `host`.
pub fn load_from_manifest(host: &Host, manifest: &str, name: &str) -> Arc<Function> {
    let (manifest, _) = wasmfn::Manifest::load(&root().join(manifest)).expect("manifest");
    let mut config = manifest.function_config(name).expect("config");
    let wasm = match manifest.handler(name).expect("handler") {
        wasmfn::HandlerSource::Node(handler) => {
            let built = JsBuilder::new(&shared_cache())
                .quiet()
                .build(&handler)
                .unwrap_or_else(|e| panic!("building {name}: {e}"));
            config.task_root = Some(built.task_root);
            built.engine
        }
        wasmfn::HandlerSource::Python(handler) => {
            let built = python_engine(&handler);
            config.task_root = Some(built.task_root);
            built.engine
        }
        other => panic!("{name} is not a JavaScript or Python function: {other:?}"),
    };
    host.load(&wasm, config).expect("load")
}

/// The Python engine for `handler`, built and compiled once per run.
pub fn python_engine(handler: &wasmfn::PythonHandler) -> wasmfn::PyFunction {
    static ENGINE: OnceLock<PathBuf> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let engine = wasmfn::PyBuilder::new(&shared_cache())
            .quiet()
            .engine()
            .unwrap_or_else(|e| panic!("building the Python engine: {e}"));
        host()
            .load(&engine, FunctionConfig::new("python"))
            .expect("load");
        engine
    });
    wasmfn::PyFunction {
        engine: engine.clone(),
        task_root: handler.task_root.clone(),
    }
}

/// The Python probe (tests/guests/py-probe, `probe.handler`) on the
/// Python engine.
pub fn py_probe() -> wasmfn::PyFunction {
    let task_root = std::fs::canonicalize(root().join("tests/guests/py-probe")).unwrap();
    python_engine(&wasmfn::PythonHandler {
        module: task_root.join("probe.py"),
        task_root,
    })
}

/// A one-function project in a fresh directory (`f`, with `runtime` and
/// `handler`, and `files` beside its manifest), invoked once with
/// `wasmfn invoke f`.
pub fn invoke_project(runtime: &str, handler: &str, files: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("serverless.yml");
    std::fs::write(
        &manifest,
        format!("service: s\nprovider:\n  name: aws\n  runtime: {runtime}\nfunctions:\n  f:\n    handler: {handler}\n"),
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    wasmfn(
        &shared_cache(),
        &["invoke", "f", "--manifest", manifest.to_str().unwrap()],
        None,
    )
}
