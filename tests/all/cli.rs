//! The `wasmfn` binary, as a user runs it.

use crate::support::{assert_clean_failure, guest, json, shared_cache, text, wasmfn};

#[test]
fn invoke_prints_the_response_and_lambdas_log_lines() {
    let hello = guest("hello");
    let out = wasmfn(&shared_cache(), &["invoke", hello.to_str().unwrap()], None);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let response = json(stdout.as_bytes());
    assert_eq!(response["statusCode"], 200);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("wasmfn:"))
        .collect();
    assert!(
        lines[0].starts_with("START RequestId: ") && lines[0].ends_with(" Version: $LATEST"),
        "{stderr}"
    );
    let id = lines[0]["START RequestId: ".len()..]
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(lines[lines.len() - 2], format!("END RequestId: {id}"));
    let report = lines[lines.len() - 1];
    let fields: Vec<&str> = report.split('\t').collect();
    assert_eq!(fields[0], format!("REPORT RequestId: {id}"));
    assert!(
        fields[1].starts_with("Duration: ") && fields[1].ends_with(" ms"),
        "{report}"
    );
    assert!(
        fields[2].starts_with("Billed Duration: ") && fields[2].ends_with(" ms"),
        "{report}"
    );
    assert_eq!(fields[3], "Memory Size: 128 MB");
    assert!(
        fields[4].starts_with("Max Memory Used: ") && fields[4].ends_with(" MB"),
        "{report}"
    );
    assert!(
        fields[5].starts_with("Init Duration: ") && fields[5].ends_with(" ms"),
        "{report}"
    );
    let body: serde_json::Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["requestId"], id);
}

#[test]
fn a_one_shot_invoke_makes_no_directory_its_function_does_not_ask_for() {
    let temp = tempfile::tempdir().unwrap();
    let run = |guest_name: &str, event: &[u8]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmfn"))
            .arg("--cache-dir")
            .arg(shared_cache())
            .args([
                "invoke",
                guest(guest_name).to_str().unwrap(),
                "--event",
                "-",
            ])
            .env("TMPDIR", temp.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(event)?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        out
    };
    let entries = || std::fs::read_dir(temp.path()).unwrap().count();
    run("hello", b"{}");
    assert_eq!(entries(), 0, "hello never opens a file: no /tmp is made");
    // A function that writes to /tmp gets one, made when it first asks.
    let out = run("probe", br#"{"action":"write","text":"/tmp/x","n":3}"#);
    assert_eq!(json(&out.stdout), serde_json::json!({"written": 3}));
}

#[test]
fn invoke_by_name_builds_the_crate_named_in_the_manifest() {
    let out = wasmfn(
        &shared_cache(),
        &["invoke", "hello", "--event", "-"],
        Some(b"{}"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json(&out.stdout)["statusCode"], 200);
}

#[test]
fn a_function_error_prints_lambdas_error_json_and_exits_1() {
    let probe = guest("probe");
    let out = wasmfn(
        &shared_cache(),
        &["invoke", probe.to_str().unwrap(), "--event", "-"],
        Some(br#"{"action":"error","text":"nope"}"#),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        r#"{"errorMessage":"nope","errorType":"CustomError"}"#
    );
    assert!(text(&out.stderr).contains("REPORT RequestId: "));
}

#[test]
fn timeout_and_memory_flags_are_enforced() {
    let probe = guest("probe");
    let probe = probe.to_str().unwrap();
    let out = wasmfn(
        &shared_cache(),
        &["invoke", probe, "--timeout", "1", "--event", "-"],
        Some(br#"{"action":"loop"}"#),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout)["errorType"], "Sandbox.Timedout");
    assert!(
        text(&out.stderr).contains("Duration: 10"),
        "about 1000 ms: {}",
        text(&out.stderr)
    );

    let out = wasmfn(
        &shared_cache(),
        &["invoke", probe, "--memory", "64", "--event", "-"],
        Some(br#"{"action":"alloc","n":100}"#),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout)["errorType"], "Runtime.OutOfMemory");
    assert!(text(&out.stderr).contains("Memory Size: 64 MB"));
}

#[test]
fn env_flags_reach_the_guest() {
    let probe = guest("probe");
    let out = wasmfn(
        &shared_cache(),
        &[
            "invoke",
            probe.to_str().unwrap(),
            "--env",
            "COLOUR=blue",
            "--event",
            "-",
        ],
        Some(br#"{"action":"env","text":"COLOUR"}"#),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json(&out.stdout)["value"], "blue");
}

#[test]
fn the_second_invoke_does_not_compile() {
    let cache = tempfile::tempdir().unwrap();
    let hello = guest("hello");
    let first = wasmfn(cache.path(), &["invoke", hello.to_str().unwrap()], None);
    assert!(first.status.success());
    assert!(
        text(&first.stderr).contains("wasmfn: compiled"),
        "{}",
        text(&first.stderr)
    );
    let second = wasmfn(cache.path(), &["invoke", hello.to_str().unwrap()], None);
    assert!(second.status.success());
    assert!(
        !text(&second.stderr).contains("compiled"),
        "{}",
        text(&second.stderr)
    );
    let artifacts = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .count();
    assert_eq!(artifacts, 1, "one artifact, written once");
}

#[test]
fn a_malformed_event_is_a_clear_error() {
    let hello = guest("hello");
    let out = wasmfn(
        &shared_cache(),
        &["invoke", hello.to_str().unwrap(), "--event", "-"],
        Some(b"{not json"),
    );
    assert_clean_failure(&out, &["not valid JSON", "stdin"]);
}

#[test]
fn a_file_that_is_not_wasm_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, b"hello, I am text").unwrap();
    let out = wasmfn(&shared_cache(), &["invoke", path.to_str().unwrap()], None);
    assert_clean_failure(&out, &["notes.wasm", "not a WebAssembly file"]);
}

#[test]
fn a_core_module_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let out = wasmfn(&shared_cache(), &["invoke", path.to_str().unwrap()], None);
    assert_clean_failure(
        &out,
        &["core.wasm", "core WebAssembly module", "wasm32-wasip2"],
    );
}

#[test]
fn a_component_without_the_export_is_a_clear_error() {
    let no_export = guest("no-export");
    let out = wasmfn(
        &shared_cache(),
        &["invoke", no_export.to_str().unwrap()],
        None,
    );
    assert_clean_failure(&out, &["no-export.wasm", "does not export `handle`"]);
}

#[test]
fn an_unknown_function_name_lists_the_known_ones() {
    let out = wasmfn(&shared_cache(), &["invoke", "nonesuch"], None);
    assert_clean_failure(&out, &["unknown function `nonesuch`", "`hello`", "`api`"]);
}

#[test]
fn a_missing_wasm_file_is_a_clear_error() {
    let out = wasmfn(&shared_cache(), &["invoke", "missing/thing.wasm"], None);
    assert_clean_failure(&out, &["missing/thing.wasm", "build the function first"]);
    // The cause is said once, inside the sentence, not again after it.
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_broken_manifest_names_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serverless.yml");
    std::fs::write(
        &path,
        "service: x\nfunctions:\n  a:\n    handler: [unclosed\n",
    )
    .unwrap();
    let out = wasmfn(
        &shared_cache(),
        &["invoke", "a", "--manifest", path.to_str().unwrap()],
        None,
    );
    assert_clean_failure(&out, &["serverless.yml:"]);
}

#[test]
fn bench_prints_the_table_and_writes_json_and_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (json_out, svg_out) = (dir.path().join("out.json"), dir.path().join("out.svg"));
    let hello = guest("hello");
    let out = wasmfn(
        &shared_cache(),
        &[
            "bench",
            hello.to_str().unwrap(),
            "--cold",
            "5",
            "--warm",
            "50",
            "--concurrency",
            "2",
            "--hold",
            "20",
            "--json",
            json_out.to_str().unwrap(),
            "--plot",
            svg_out.to_str().unwrap(),
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for kind in ["cold ", "spare ", "warm "] {
        assert!(
            stdout.lines().any(|l| l.starts_with(kind)),
            "{kind}: {stdout}"
        );
    }
    assert!(stdout.contains("scaling at concurrency 2"), "{stdout}");
    assert!(stdout.contains("20 warm instances held"), "{stdout}");
    let results = json(&std::fs::read(&json_out).unwrap());
    assert_eq!(results["series"].as_array().unwrap().len(), 3);
    assert_eq!(
        results["series"][2]["samples_us"].as_array().unwrap().len(),
        50
    );
    assert!(results["series"][0]["p50_us"].as_f64().unwrap() > 0.0);
    // Each kind counts the page faults its calls took (a Rust hello's
    // instances reuse a pool slot's resident pages, so it may be 0).
    assert!(stdout.contains("faults/call"), "{stdout}");
    for series in results["series"].as_array().unwrap() {
        let faults = series["faults_per_call"].as_f64();
        assert!(faults.is_some_and(|f| f >= 0.0), "{series:?}");
    }
    let svg = std::fs::read_to_string(&svg_out).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "not a line plot"
    );
    assert!(svg.contains("cold (p50") && svg.contains("warm (p50"));
}

#[test]
fn guests_leave_the_host_a_quarter_of_its_descriptors() {
    let probe = guest("probe");
    // Under a limit of 1,200 the host keeps 300 for itself, so a guest
    // opening 2,000 files is stopped near 900, before its own limit of
    // 1,024.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 1200 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_wasmfn"))
        .arg("--cache-dir")
        .arg(shared_cache())
        .args(["invoke", probe.to_str().unwrap(), "--event", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(br#"{"action": "open", "text": "/tmp", "n": 2000}"#)?;
            child.wait_with_output()
        })
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let response = json(&out.stdout);
    let open = response["open"].as_u64().unwrap();
    assert!((500..=900).contains(&open), "{response}");
    assert!(
        response["error"]
            .as_str()
            .unwrap()
            .contains("Quota exceeded"),
        "{response}"
    );
    assert!(stderr.contains("short of file descriptors"), "{stderr}");
    // The host still had room for its own work: the REPORT line.
    assert!(stderr.contains("REPORT RequestId: "), "{stderr}");
}

#[test]
fn invoke_stream_prints_the_chunks_and_the_error_that_ended_them() {
    let streamer = guest("streamer");
    let path = streamer.to_str().unwrap();
    let event = br#"{"action":"chunks","chunks":["first ","second"]}"#;
    let out = wasmfn(
        &shared_cache(),
        &["invoke", path, "--stream", "--event", "-"],
        Some(event),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "first second\n");
    // Without --stream the same handler answers with everything it wrote.
    let out = wasmfn(
        &shared_cache(),
        &["invoke", path, "--event", "-"],
        Some(event),
    );
    assert_eq!(text(&out.stdout), "first second\n");
    let failing = br#"{"action":"fail","chunks":["partial"]}"#;
    let out = wasmfn(
        &shared_cache(),
        &["invoke", path, "--stream", "--event", "-"],
        Some(failing),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let (chunks, error) = stdout.split_once('\n').unwrap();
    assert_eq!(
        chunks, "partial",
        "the chunks, then the error on a line of its own"
    );
    assert_eq!(json(error.trim().as_bytes())["errorType"], "StreamFailed");
}

#[test]
fn invoke_takes_a_tenant_only_for_a_function_that_isolates_tenants() {
    let out = wasmfn(
        &shared_cache(),
        &[
            "invoke",
            guest("probe").to_str().unwrap(),
            "--tenant-id",
            "blue",
        ],
        None,
    );
    assert_clean_failure(&out, &["Tenant ID configuration"]);
}
