//! Fuzzes `wasmfn::tooling::fuzzing::manifest` (see that function for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmfn::tooling::fuzzing::manifest(data));
