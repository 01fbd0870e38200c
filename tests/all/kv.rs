//! Key-value stores through `wasi:keyvalue`: granted stores work and
//! survive a restart of the host; ungranted ones do not exist for the
//! function.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use wasmfn::capability::kv::StoreBackend;
use wasmfn::manifest::Manifest;
use wasmfn::{Function, FunctionConfig, StoreGrant};

use crate::support::{guest, host, invoke, json, load};

async fn call(
    f: &Arc<Function>,
    action: &str,
    store: &str,
    key: &str,
    n: u64,
) -> Result<Value, String> {
    let inv = invoke(
        f,
        &json!({"action": action, "store": store, "text": key, "n": n}),
    )
    .await;
    inv.result
        .map(|bytes| json(&bytes))
        .map_err(|e| format!("{}: {}", e.error_type, e.error_message))
}

fn granted(name: &str, store: &str, path: &Path) -> FunctionConfig {
    let mut config = FunctionConfig::new(name);
    config.key_value_stores.push(StoreGrant {
        name: store.into(),
        backend: StoreBackend::Embedded {
            path: path.to_owned(),
        },
    });
    config
}

#[tokio::test]
async fn a_granted_store_keeps_data_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.redb");
    {
        let host = host();
        let f = load(&host, "probe", granted("writer", "users", &path));
        call(&f, "kv_set", "users", "u-1", 7).await.unwrap();
        call(&f, "kv_set", "users", "u-2", 8).await.unwrap();
        assert_eq!(
            call(&f, "kv_incr", "users", "count", 2).await.unwrap(),
            json!({"value": 2})
        );
        assert_eq!(
            call(&f, "kv_incr", "users", "count", 3).await.unwrap(),
            json!({"value": 5})
        );
    }
    // A new host and a fresh instance: the data is on disk, not in memory.
    let host = host();
    let f = load(&host, "probe", granted("reader", "users", &path));
    let got = call(&f, "kv_get", "users", "u-2", 0).await.unwrap();
    assert_eq!(
        got,
        json!({"value": "value-8", "keys": ["count", "u-1", "u-2"]})
    );
    assert_eq!(
        call(&f, "kv_incr", "users", "count", 1).await.unwrap(),
        json!({"value": 6})
    );
}

#[tokio::test]
async fn an_ungranted_store_does_not_exist_for_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let host = host();
    let owner = load(
        &host,
        "probe",
        granted("owner", "secrets", &dir.path().join("s.redb")),
    );
    call(&owner, "kv_set", "secrets", "k", 1).await.unwrap();
    // Another function on the same host, granted nothing.
    let other = load(&host, "probe", FunctionConfig::new("other"));
    let err = call(&other, "kv_get", "secrets", "k", 0).await.unwrap_err();
    assert!(
        err.starts_with("KeyValueError: store `secrets`: no such store"),
        "{err}"
    );
    // Granted a different store, it still cannot open this one.
    let neighbour = load(
        &host,
        "probe",
        granted("neighbour", "mine", &dir.path().join("m.redb")),
    );
    assert!(call(&neighbour, "kv_get", "secrets", "k", 0).await.is_err());
    assert_eq!(
        call(&neighbour, "kv_get", "mine", "k", 0).await.unwrap(),
        json!({"value": null, "keys": []})
    );
}

#[tokio::test]
async fn manifest_stores_are_shared_by_the_functions_granted_them() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("serverless.yml");
    let wasm = guest("probe");
    std::fs::write(
        &manifest,
        format!(
            "service: s\nstores:\n  shared: {{}}\nfunctions:\n  a:\n    handler: {w}\n    keyValueStores: [shared]\n  b:\n    handler: {w}\n    keyValueStores: [shared]\n  c:\n    handler: {w}\n    keyValueStores: [missing]\n",
            w = wasm.display()
        ),
    )
    .unwrap();
    let (m, _) = Manifest::load(&manifest).unwrap();
    let host = host();
    let a = host.load(&wasm, m.function_config("a").unwrap()).unwrap();
    let b = host.load(&wasm, m.function_config("b").unwrap()).unwrap();
    call(&a, "kv_set", "shared", "x", 1).await.unwrap();
    let got = call(&b, "kv_get", "shared", "x", 0).await.unwrap();
    assert_eq!(got["value"], "value-1");
    assert!(dir.path().join(".wasmfn/stores/shared.redb").exists());
    let err = m.function_config("c").unwrap_err().to_string();
    assert!(
        err.contains("`missing`, which `stores:` does not define"),
        "{err}"
    );
}

#[tokio::test]
async fn items_past_dynamodbs_limits_are_refused_by_the_embedded_store_too() {
    let dir = tempfile::tempdir().unwrap();
    let host = host();
    let f = load(
        &host,
        "probe",
        granted("blobs", "blobs", &dir.path().join("blobs.redb")),
    );
    let set = |key: String, len: u64| {
        let f = f.clone();
        async move {
            invoke(
                &f,
                &json!({"action": "kv_set", "store": "blobs", "text": key, "len": len}),
            )
            .await
            .result
            .map_err(|e| e.error_message)
        }
    };
    // What DynamoDB takes, the embedded store takes; what it refuses, so
    // does the embedded store, with the limit named.
    set("fits".into(), 300 << 10).await.unwrap();
    let err = set("too-big".into(), 400 << 10).await.unwrap_err();
    assert!(err.contains("over DynamoDB's limit of 409600"), "{err}");
    let err = set("k".repeat(2049), 1).await.unwrap_err();
    assert!(err.contains("a key of 2049 bytes"), "{err}");
    let err = call(&f, "kv_get", "blobs", "", 0).await.unwrap_err();
    assert!(err.contains("cannot be empty"), "{err}");
    // Nothing refused was stored.
    let got = call(&f, "kv_get", "blobs", "fits", 0).await.unwrap();
    assert_eq!(got["keys"], json!(["fits"]));
}
