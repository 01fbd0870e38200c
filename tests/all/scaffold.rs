//! `wasmfn new`: every template builds for wasm32-wasip2 with plain cargo,
//! passes its own unit tests natively, and runs under `wasmfn invoke` with
//! the sample event it ships.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use wasmfn::tooling::scaffold::TEMPLATES;

use crate::support::{assert_clean_failure, json, shared_cache, text, wasmfn};

fn cargo(dir: &Path, target_dir: &Path, args: &[&str]) {
    let out = Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        // Debug information would be most of this target directory's
        // gigabytes; the checks here never read it.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .output()
        .expect("cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in {}: {}",
        dir.display(),
        text(&out.stderr)
    );
}

/// The `rustflags` lines of a cargo config.
fn rustflags(config: &str) -> Vec<&str> {
    config
        .lines()
        .filter(|l| l.trim_start().starts_with("rustflags"))
        .collect()
}

/// What each template's sample invocation must answer.
fn check(template: &str, response: &Value) {
    match template {
        "hello" | "api" => assert_eq!(response["statusCode"], 200, "{response}"),
        "s3" => assert_eq!(response["keys"][0], "uploads/test key.json"),
        "sqs" | "dynamodb" => assert_eq!(response["batchItemFailures"], serde_json::json!([])),
        "schedule" => assert_eq!(response["ran"], true),
        other => panic!("no check for template {other}: add one"),
    }
}

#[test]
fn every_template_builds_tests_and_invokes() {
    let work = tempfile::tempdir().unwrap();
    // One target directory for all, as a user's machine would share its
    // cargo cache: the SDK's dependencies build once.
    let target = work.path().join("target");
    for template in TEMPLATES {
        let name = format!("x-{}", template.name);
        let dir = work.path().join(&name);
        let out = wasmfn(
            &shared_cache(),
            &[
                "new",
                &name,
                "--template",
                template.name,
                "--dir",
                dir.to_str().unwrap(),
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("cargo build --release --target wasm32-wasip2"));
        // The guest build settings the example functions use come along,
        // the same flags (the two files are kept apart only because a crate
        // cannot include a file from outside itself).
        let config = std::fs::read_to_string(dir.join(".cargo/config.toml")).unwrap();
        assert!(config.contains("[target.wasm32-wasip2]"), "{config}");
        assert!(!rustflags(&config).is_empty(), "{config}");
        let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/.cargo/config.toml");
        assert_eq!(
            rustflags(&config),
            rustflags(&std::fs::read_to_string(ours).unwrap()),
            "host/templates/cargo-config.toml and functions/.cargo/config.toml differ"
        );

        cargo(&dir, &target, &["build", "--target", "wasm32-wasip2"]);
        cargo(&dir, &target, &["test", "--quiet"]);

        let wasm = target.join(format!(
            "wasm32-wasip2/debug/{}.wasm",
            name.replace('-', "_")
        ));
        let event = dir.join("events/event.json");
        let out = wasmfn(
            &shared_cache(),
            &[
                "invoke",
                wasm.to_str().unwrap(),
                "--event",
                event.to_str().unwrap(),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}: {}",
            template.name,
            text(&out.stderr)
        );
        check(template.name, &json(&out.stdout));
    }
}

#[test]
fn bad_names_templates_and_taken_directories_are_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("x");
    let at = dir.to_str().unwrap();
    let out = wasmfn(&shared_cache(), &["new", "Bad Name", "--dir", at], None);
    assert_clean_failure(&out, &["`Bad Name` is not a valid function name"]);
    let out = wasmfn(
        &shared_cache(),
        &["new", "x", "--template", "cobol", "--dir", at],
        None,
    );
    assert_clean_failure(
        &out,
        &[
            "unknown template `cobol`",
            "hello, api, s3, sqs, dynamodb, schedule",
        ],
    );
    let out = wasmfn(
        &shared_cache(),
        &["new", "x", "--sdk", "/nonexistent", "--dir", at],
        None,
    );
    assert_clean_failure(&out, &["no wasmfn guest SDK at /nonexistent", "--sdk"]);
    assert!(!dir.exists(), "nothing is written on an error");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), "keep").unwrap();
    let out = wasmfn(&shared_cache(), &["new", "x", "--dir", at], None);
    assert_clean_failure(&out, &["already exists"]);
}
