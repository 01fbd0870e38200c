//! The fuzz targets' corpora (`fuzz/corpus/<target>/`) as regression tests
//! on stable: every input the fuzzers were seeded with, or found and saved,
//! goes through the same code as under libFuzzer and must not panic.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 5,
        "{target}: the corpus is a handful at least"
    );
    inputs
}

fn replay(target: &str, run: fn(&[u8])) {
    for (path, input) in corpus(target) {
        // Name the input that broke, then fail as the fuzzer would.
        if std::panic::catch_unwind(|| run(&input)).is_err() {
            panic!("fuzz target `{target}` panicked on {}", path.display());
        }
    }
}

#[test]
fn manifest_corpus() {
    replay("manifest", wasmfn::tooling::fuzzing::manifest);
}

#[test]
fn invoke_request_corpus() {
    replay("invoke_request", wasmfn::tooling::fuzzing::invoke_request);
}

#[test]
fn apigw_corpus() {
    replay("apigw", wasmfn::tooling::fuzzing::apigw);
}
