//! What a guest can see of the filesystem and the environment: its own
//! `/tmp` (kept while warm, private, capped), the layers read-only at
//! `/opt`, and nothing else.

use std::sync::Arc;

use serde_json::{json, Value};
use wasmfn::function::pool::Policy;
use wasmfn::{Function, FunctionConfig};

use crate::support::{host, invoke, json, load};

async fn call(f: &Arc<Function>, action: &str, text: &str, n: u64) -> Value {
    let inv = invoke(f, &json!({"action": action, "text": text, "n": n})).await;
    json(&inv.result.expect("the probe reports file errors as data"))
}

#[tokio::test]
async fn tmp_is_kept_while_warm_and_private_to_the_instance() {
    let host = host();
    let f = load(&host, "probe", FunctionConfig::new("probe"));
    assert_eq!(
        call(&f, "write", "/tmp/cache", 5).await,
        json!({"written": 5})
    );
    assert_eq!(
        call(&f, "read", "/tmp/cache", 0).await,
        json!({"content": "wwwww"})
    );

    // Another function on the same host has its own, empty /tmp.
    let other = load(&host, "probe", FunctionConfig::new("other"));
    assert!(call(&other, "read", "/tmp/cache", 0).await["error"].is_string());
    assert_eq!(call(&other, "ls", "/tmp", 0).await, json!({"entries": []}));

    // A fresh instance of the same function starts with an empty /tmp.
    let mut fresh = FunctionConfig::new("fresh");
    fresh.pool.policy = Policy::Fresh;
    let fresh = load(&host, "probe", fresh);
    call(&fresh, "write", "/tmp/cache", 1).await;
    assert!(call(&fresh, "read", "/tmp/cache", 0).await["error"].is_string());
}

#[tokio::test]
async fn nothing_outside_tmp_and_opt_is_visible() {
    let host = host();
    let f = load(&host, "probe", FunctionConfig::new("probe"));
    for path in [
        "/etc/passwd",
        "/tmp/../etc/passwd",
        "../etc/passwd",
        "/proc/self/environ",
        "Cargo.toml",
    ] {
        let out = call(&f, "read", path, 0).await;
        assert!(out["error"].is_string(), "{path} was readable: {out}");
    }
    assert!(call(&f, "write", "/etc/evil", 1).await["error"].is_string());
    let root = call(&f, "ls", "/", 0).await;
    assert!(root["error"].is_string(), "the root lists nothing: {root}");
    // The host's environment does not leak in: only Lambda's variables and
    // the function's own.
    let names = call(&f, "env_names", "", 0).await;
    let names: Vec<&str> = names["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for host_var in [
        "PATH",
        "HOME",
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "RUST_TEST_THREADS",
    ] {
        assert!(!names.contains(&host_var), "{host_var} leaked: {names:?}");
    }
    assert!(names.contains(&"AWS_LAMBDA_FUNCTION_NAME"), "{names:?}");

    // Nor does another function's.
    let mut secretive = FunctionConfig::new("secretive");
    secretive
        .environment
        .push(("API_KEY".into(), "s3cr3t".into()));
    let secretive = load(&host, "probe", secretive);
    assert_eq!(
        call(&secretive, "env", "API_KEY", 0).await["value"],
        "s3cr3t"
    );
    assert_eq!(call(&f, "env", "API_KEY", 0).await["value"], Value::Null);
}

#[tokio::test]
async fn layers_are_merged_read_only_at_opt() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::write(a.path().join("config.json"), "from a").unwrap();
    std::fs::write(a.path().join("only-a.txt"), "a").unwrap();
    std::fs::write(b.path().join("config.json"), "from b").unwrap();
    let mut config = FunctionConfig::new("layered");
    config.layers = vec![a.path().to_owned(), b.path().to_owned()];
    let host = host();
    let f = load(&host, "probe", config);
    assert_eq!(
        call(&f, "read", "/opt/config.json", 0).await["content"],
        "from b"
    );
    assert_eq!(call(&f, "read", "/opt/only-a.txt", 0).await["content"], "a");
    let write = call(&f, "write", "/opt/config.json", 3).await;
    assert!(write["error"].is_string(), "/opt is writable: {write}");
    assert_eq!(
        call(&f, "read", "/opt/config.json", 0).await["content"],
        "from b"
    );

    // Without layers there is no /opt; with ephemeral storage 0, no /tmp.
    let mut plain = FunctionConfig::new("plain");
    plain.tmp_mb = 0;
    let plain = load(&host, "probe", plain);
    assert!(call(&plain, "ls", "/opt", 0).await["error"].is_string());
    assert!(call(&plain, "write", "/tmp/x", 1).await["error"].is_string());
}

#[tokio::test]
async fn an_instance_over_its_tmp_cap_is_retired() {
    let mut config = FunctionConfig::new("capped");
    config.tmp_mb = 1;
    let host = host();
    let f = load(&host, "probe", config);
    assert_eq!(
        call(&f, "write", "/tmp/big", 2 << 20).await["written"],
        2 << 20
    );
    // Usage is measured at most every 100 ms per instance.
    tokio::time::sleep(wasmfn::capability::files::CHECK_INTERVAL * 2).await;
    // The next invocation finds it over its cap, on an epoch tick during
    // the call (which stops it) or after it; either way it is the
    // instance's last.
    let before = invoke(&f, &json!({"action": "counter", "text": "", "n": 0})).await;
    match before.result {
        Ok(bytes) => assert_eq!(json(&bytes)["invocations"], 2),
        Err(e) => assert_eq!(e.error_type, "Runtime.EphemeralStorageExceeded", "{e:?}"),
    }
    let after = call(&f, "counter", "", 0).await;
    assert!(
        call(&f, "read", "/tmp/big", 0).await["error"].is_string(),
        "the retired instance's /tmp went with it"
    );
    assert_eq!(after["invocations"], 1, "a new instance: {after}");
}

#[tokio::test]
async fn a_call_filling_tmp_is_stopped_near_the_cap() {
    let mut config = FunctionConfig::new("filler");
    config.tmp_mb = 1;
    config.timeout = std::time::Duration::from_secs(60);
    let host = host();
    let f = load(&host, "probe", config);
    // 2 GB, a megabyte at a time: without a check during the call it would
    // all be written (and the call would succeed).
    let inv = invoke(
        &f,
        &json!({"action": "fill", "text": "/tmp/fill", "n": 2048}),
    )
    .await;
    let error = inv.result.expect_err("the call must be stopped");
    assert_eq!(
        error.error_type, "Runtime.EphemeralStorageExceeded",
        "{error:?}"
    );
    assert!(
        error
            .error_message
            .contains("over the function's ephemeralStorageSize of 1 MB"),
        "{error:?}"
    );
    let used_mb: u64 = error
        .error_message
        .split("/tmp holds ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("usage in {error:?}"));
    assert!((2..2048).contains(&used_mb), "stopped after {used_mb} MB");
    // The instance went with its /tmp; the function still works.
    assert_eq!(call(&f, "counter", "", 0).await["invocations"], 1);
}

#[tokio::test]
async fn data_nested_past_path_max_counts_against_the_cap() {
    let mut config = FunctionConfig::new("nester");
    // 64 MB allows 4,096 entries: the 2,500 directories fit, a 100 MB file
    // at the bottom does not.
    config.tmp_mb = 64;
    config.timeout = std::time::Duration::from_secs(60);
    let host = host();
    let f = load(&host, "probe", config);
    // "/d" a level: the bottom is 5,000 bytes below /tmp, past PATH_MAX,
    // where a walk by path cannot reach.
    let deep = invoke(&f, &json!({"action": "deep", "n": 2500, "len": 100 << 20})).await;
    match &deep.result {
        // Caught on a tick during the call.
        Err(error) => assert_eq!(
            error.error_type, "Runtime.EphemeralStorageExceeded",
            "{error:?}"
        ),
        // Or on a check during or after one of the next calls, which
        // retires it.
        Ok(payload) => {
            assert_eq!(json(payload), json!({"depth": 2500}));
            let mut retired = false;
            for _ in 0..40 {
                tokio::time::sleep(wasmfn::capability::files::CHECK_INTERVAL * 3).await;
                let next = invoke(&f, &json!({"action": "counter", "text": "", "n": 0})).await;
                match next.result {
                    Err(error) => {
                        // Caught on a tick of this call: the instance goes.
                        assert_eq!(error.error_type, "Runtime.EphemeralStorageExceeded");
                        retired = true;
                        break;
                    }
                    Ok(payload) if json(&payload)["invocations"] == 1 => {
                        retired = true;
                        break;
                    }
                    Ok(_) => {}
                }
            }
            assert!(retired, "the instance hiding 100 MB was never retired");
        }
    }
    // Its /tmp went with it (removed without a path, however deep), and
    // the function still works.
    assert_eq!(call(&f, "ls", "/tmp", 0).await, json!({"entries": []}));
}

#[tokio::test]
async fn an_instance_holds_at_most_1024_files_open() {
    let host = host();
    let f = load(&host, "probe", FunctionConfig::new("opener"));
    // Lambda's limit per execution environment; the next open fails (WASI
    // has no "too many open files": it is `quota`), nothing traps.
    let out = call(&f, "open", "/tmp", 1100).await;
    assert_eq!(out["open"], 1024, "{out}");
    assert!(
        out["error"].as_str().unwrap().contains("Quota exceeded"),
        "{out}"
    );
    // The instance is still warm with its files, and a file closed makes
    // room for another.
    assert_eq!(call(&f, "close", "", 24).await["open"], 1000);
    let out = call(&f, "open", "/tmp", 10).await;
    assert_eq!(out, json!({"open": 1010, "error": null}));
}
