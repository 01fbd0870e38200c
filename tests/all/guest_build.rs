//! Building a crate handler: cargo runs when an input changed, and only
//! then. Counted through a cargo that notes each run and then does it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use wasmfn::GuestBuilder;

use crate::support::{json, shared_cache, text};

/// Writes `files` (path, content) under `root`.
fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Sets every file under `root` to have been modified a minute ago, so
/// that a build may trust them (inputs written just before a build are not
/// remembered: they could have changed after the compiler read them).
fn age(root: &Path) {
    let then = SystemTime::now() - Duration::from_secs(60);
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(then)
                    .unwrap();
            }
        }
    }
}

/// A cargo that appends a line to `log` each time it runs.
fn counting_cargo(dir: &Path, log: &Path) -> PathBuf {
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let script = dir.join("cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn cargo_runs_for_a_changed_source_dependency_or_sdk_and_not_otherwise() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    // `sdk` stands for the SDK: a path dependency, as guest-sdk is.
    write(
        root,
        &[
            (
                "sdk/Cargo.toml",
                "[package]\nname = \"sdk\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("sdk/src/lib.rs", "pub fn answer() -> u32 { 41 }\n"),
            (
                "extra/Cargo.toml",
                "[package]\nname = \"extra\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("extra/src/lib.rs", "pub fn more() -> u32 { 1 }\n"),
            (
                "guest/Cargo.toml",
                "[package]\nname = \"guest\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                 [lib]\ncrate-type = [\"cdylib\"]\n\
                 [dependencies]\nsdk = { path = \"../sdk\" }\n",
            ),
            (
                "guest/src/lib.rs",
                "#[no_mangle]\npub extern \"C\" fn run() -> u32 { sdk::answer() }\n",
            ),
        ],
    );
    let log = root.join("cargo-runs");
    let builder = GuestBuilder::new()
        .quiet(true)
        .cargo(counting_cargo(root, &log))
        .remember_in(root.join("memo"));
    let guest = root.join("guest");
    let runs = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let build = |expected_runs: usize, why: &str| {
        let wasm = builder.build_crate(&guest).unwrap();
        assert!(wasm.is_file(), "{}", wasm.display());
        assert_eq!(runs(), expected_runs, "{why}");
        wasm
    };

    age(root);
    let first = build(1, "the first build runs cargo");
    assert_eq!(build(1, "nothing changed: no cargo"), first);

    write(
        root,
        &[(
            "guest/src/lib.rs",
            "#[no_mangle]\npub extern \"C\" fn run() -> u32 { sdk::answer() + 1 }\n",
        )],
    );
    build(2, "a changed source runs cargo");
    // Just written, it is not trusted yet: cargo runs again until it is old.
    build(
        3,
        "a source written within a second of the build is checked again",
    );
    age(root);
    build(4, "remembered again");
    build(4, "unchanged after the change");

    write(
        root,
        &[("sdk/src/lib.rs", "pub fn answer() -> u32 { 42 }\n")],
    );
    age(root);
    build(5, "a changed SDK source runs cargo");
    build(5, "unchanged after the SDK change");

    write(
        root,
        &[(
            "guest/Cargo.toml",
            "[package]\nname = \"guest\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\
             [dependencies]\nsdk = { path = \"../sdk\" }\nextra = { path = \"../extra\" }\n",
        )],
    );
    age(root);
    build(6, "a changed dependency runs cargo");
    build(6, "unchanged after the dependency change");

    // A new cargo config (none was there) changes how cargo builds.
    write(root, &[("guest/.cargo/config.toml", "[build]\n")]);
    age(root);
    build(7, "a new cargo config runs cargo");

    // A component removed from under the memo is built again.
    std::fs::remove_file(&first).unwrap();
    build(8, "a missing component runs cargo");
}

#[test]
fn invoke_by_name_does_not_run_cargo_when_the_crate_is_unchanged() {
    let invoke = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmfn"))
            .arg("--cache-dir")
            .arg(shared_cache())
            .args(["invoke", "hello"])
            .current_dir(crate::support::root())
            .env("WASMFN_LOG", "wasmfn=debug")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(json(&out.stdout)["statusCode"], 200);
        text(&out.stderr)
    };
    // The first may run cargo (another test may have just rebuilt the
    // guests as a workspace, with other features); one that did makes the
    // next skip it.
    invoke();
    let skipped = |log: &str| log.contains("unchanged since it was built; not running cargo");
    let second = invoke();
    if !skipped(&second) {
        let third = invoke();
        assert!(skipped(&third), "{second}\n---\n{third}");
    }
}
