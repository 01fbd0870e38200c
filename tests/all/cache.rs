//! A component is compiled once per engine configuration, ever.

use wasmfn::{ArtifactSource, FunctionConfig, Host};

use crate::support::{guest, options};

#[test]
fn the_second_load_maps_the_cached_artifact_instead_of_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let first = Host::new(options(dir.path())).unwrap();
    let f = first
        .load(&guest("hello"), FunctionConfig::new("hello"))
        .unwrap();
    assert_eq!(f.load_stats().source, ArtifactSource::Compiled);
    let artifact = f.load_stats().artifact.clone();
    let written = std::fs::metadata(&artifact).unwrap().modified().unwrap();

    // A new host, as in a new process: the artifact is reused untouched.
    let second = Host::new(options(dir.path())).unwrap();
    let g = second
        .load(&guest("hello"), FunctionConfig::new("hello"))
        .unwrap();
    assert_eq!(g.load_stats().source, ArtifactSource::Cache);
    assert_eq!(g.load_stats().artifact, artifact);
    assert_eq!(
        std::fs::metadata(&artifact).unwrap().modified().unwrap(),
        written
    );
}

#[test]
fn a_different_engine_configuration_gets_its_own_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let pooled = Host::new(options(dir.path())).unwrap();
    let mut plain = options(dir.path());
    plain.engine.pooling = wasmfn::PoolingMode::Off;
    let plain = Host::new(plain).unwrap();
    let a = pooled
        .load(&guest("hello"), FunctionConfig::new("hello"))
        .unwrap();
    let b = plain
        .load(&guest("hello"), FunctionConfig::new("hello"))
        .unwrap();
    // Whether the two configurations share code is wasmtime's call; what
    // matters is that each loads an artifact its engine accepts.
    assert!(a.load_stats().artifact.exists() && b.load_stats().artifact.exists());
}

#[test]
fn a_corrupt_artifact_is_recompiled_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = {
        let host = Host::new(options(dir.path())).unwrap();
        let f = host
            .load(&guest("hello"), FunctionConfig::new("hello"))
            .unwrap();
        f.load_stats().artifact.clone()
        // The artifact is memory-mapped while loaded; only rewrite it in
        // place (as a crash or a careless user might) after it is dropped.
    };
    std::fs::write(&artifact, b"garbage").unwrap();
    let host = Host::new(options(dir.path())).unwrap();
    let g = host
        .load(&guest("hello"), FunctionConfig::new("hello"))
        .unwrap();
    assert_eq!(g.load_stats().source, ArtifactSource::Compiled);
}

#[test]
fn without_address_space_for_the_pool_the_engine_falls_back_to_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    // A million 4 GiB slots cannot be reserved in a 47-bit address space.
    let mut greedy = options(dir.path());
    greedy.engine.max_instances = 1_000_000;
    let host = Host::new(greedy.clone()).expect("auto mode falls back");
    assert_eq!(host.allocator(), wasmfn::Allocator::OnDemand);
    // ... and the fallback engine runs functions.
    let f = host
        .load(&guest("hello"), FunctionConfig::new("hello"))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inv = rt.block_on(f.invoke(b"{}", wasmfn::InvokeRequest::default()));
    assert!(inv.expect("not throttled").result.is_ok());

    greedy.engine.pooling = wasmfn::PoolingMode::Required;
    let err = Host::new(greedy)
        .err()
        .expect("required pooling fails loudly");
    assert!(err.to_string().contains("pooling allocator"), "{err}");

    let normal = Host::new(options(dir.path())).unwrap();
    assert_eq!(normal.allocator(), wasmfn::Allocator::Pooling);
}

#[test]
fn loading_one_component_twice_at_once_compiles_safely() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new(options(dir.path())).unwrap();
    let hello = guest("hello");
    let loads = (0..4)
        .map(|i| (hello.clone(), FunctionConfig::new(format!("hello{i}"))))
        .collect();
    struct Quiet;
    impl wasmfn::engine::host::LoadObserver for Quiet {
        fn compiling(&self, _: &std::path::Path) {}
        fn compiled(&self, _: &std::path::Path, _: std::time::Duration, _: &std::path::Path) {}
    }
    for result in host.load_many(loads, &Quiet) {
        result.expect("every concurrent load succeeds");
    }
    // Beside it only the remembered digests (`digests/`), if any.
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "digests")
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one artifact, no temporary files left: {files:?}"
    );
}
