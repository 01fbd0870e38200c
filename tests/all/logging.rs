//! Lambda's logging controls (`logs:` / `provider.logs.lambda`): the JSON
//! format's platform records and the application level filter, through
//! `wasmfn invoke` of a Node.js handler that logs at every level.

use serde_json::Value;

use crate::support::{assert_clean_failure, json, shared_cache, text, wasmfn};

const APP: &str = "exports.handler = async () => {\n\
  console.debug('dbg'); console.info('inf'); console.warn('wrn'); console.error('err');\n\
  return { ok: true };\n};\n";

/// Invokes function `name` of a project whose manifest is `manifest`.
fn invoke(manifest: &str, name: &str) -> std::process::Output {
    invoke_with(manifest, name, &[])
}

fn invoke_with(manifest: &str, name: &str, flags: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serverless.yml");
    std::fs::write(&path, manifest).unwrap();
    std::fs::write(dir.path().join("app.js"), APP).unwrap();
    let mut args = flags.to_vec();
    args.extend(["invoke", name, "--manifest", path.to_str().unwrap()]);
    wasmfn(&shared_cache(), &args, None)
}

const MANIFEST: &str = r#"service: logs
provider:
  name: aws
  runtime: nodejs20.x
  logs:
    lambda:
      logFormat: JSON
functions:
  quiet:
    handler: app.handler
    logs:
      applicationLogLevel: WARN
  chatty:
    handler: app.handler
    logs:
      applicationLogLevel: DEBUG
  silent:
    handler: app.handler
    logs:
      systemLogLevel: WARN
  plain:
    handler: app.handler
    logs:
      logFormat: Text
"#;

/// The JSON records an invocation wrote to stderr (every line must be one).
fn records(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json(&out.stdout)["ok"], true);
    text(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("wasmfn:") && !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn messages(records: &[Value]) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|r| r.get("message").is_some())
        .map(|r| {
            (
                r["level"].as_str().unwrap().to_string(),
                r["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_json_function_writes_platform_records_and_its_level_filter_drops_lines() {
    let quiet = records(&invoke(MANIFEST, "quiet"));
    let (first, last) = (&quiet[0], &quiet[quiet.len() - 1]);
    assert_eq!(first["type"], "platform.start", "{quiet:?}");
    let id = first["record"]["requestId"].as_str().unwrap();
    assert_eq!(first["record"]["version"], "$LATEST");
    assert_eq!(last["type"], "platform.report", "{quiet:?}");
    assert_eq!(last["record"]["requestId"], id);
    assert_eq!(last["record"]["status"], "success");
    let metrics = &last["record"]["metrics"];
    assert!(metrics["durationMs"].as_f64().unwrap() > 0.0, "{metrics}");
    assert!(
        metrics["billedDurationMs"].as_u64().unwrap() >= 1,
        "{metrics}"
    );
    assert_eq!(metrics["memorySizeMB"], 128);
    assert!(metrics["initDurationMs"].is_number(), "{metrics}");
    // WARN and above only; every record carries the request id.
    assert_eq!(
        messages(&quiet),
        [
            ("WARN".into(), "wrn".into()),
            ("ERROR".into(), "err".into())
        ]
    );
    assert!(
        quiet[1..quiet.len() - 1]
            .iter()
            .all(|r| r["requestId"] == id
                && r["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')))
    );

    let chatty = records(&invoke(MANIFEST, "chatty"));
    assert_eq!(
        messages(&chatty),
        [
            ("DEBUG".into(), "dbg".into()),
            ("INFO".into(), "inf".into()),
            ("WARN".into(), "wrn".into()),
            ("ERROR".into(), "err".into())
        ]
    );

    // systemLogLevel WARN: no platform records; the application's at INFO.
    let silent = records(&invoke(MANIFEST, "silent"));
    assert!(silent.iter().all(|r| r.get("type").is_none()), "{silent:?}");
    assert_eq!(messages(&silent).len(), 3);
}

#[test]
fn a_text_function_keeps_lambdas_lines_and_levels_need_json() {
    let out = invoke(MANIFEST, "plain");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with("START RequestId: ")),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("REPORT RequestId: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("\tDEBUG\tdbg"),
        "Text is never filtered: {stderr}"
    );

    let with_logs = |logs: &str| {
        format!(
            "service: logs\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  f:\n    handler: app.handler\n    logs:\n      {logs}\n"
        )
    };
    assert_clean_failure(
        &invoke(&with_logs("applicationLogLevel: DEBUG"), "f"),
        &["applicationLogLevel", "logFormat: JSON"],
    );
    let unknown = with_logs("logFormat: XML");
    assert_clean_failure(&invoke(&unknown, "f"), &["logFormat", "XML", "JSON"]);
}

#[test]
fn a_log_level_floor_keeps_a_server_quiet() {
    let out = invoke_with(MANIFEST, "plain", &["--log-level", "WARN"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("START RequestId"), "{stderr}");
    assert!(!stderr.contains("REPORT RequestId"), "{stderr}");
    assert!(
        !stderr.contains("\tINFO\tinf") && !stderr.contains("\tDEBUG\t"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\tWARN\twrn") && stderr.contains("\tERROR\terr"),
        "{stderr}"
    );

    // Over a JSON function's own DEBUG level, too.
    let chatty = records(&invoke_with(MANIFEST, "chatty", &["--log-level", "error"]));
    assert_eq!(messages(&chatty), [("ERROR".into(), "err".into())]);
    assert!(chatty.iter().all(|r| r.get("type").is_none()), "{chatty:?}");

    let bad = invoke_with(MANIFEST, "plain", &["--log-level", "LOUD"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("not a log level"),
        "{}",
        text(&bad.stderr)
    );
}
