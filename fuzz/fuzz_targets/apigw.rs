//! Fuzzes `wasmfn::tooling::fuzzing::apigw` (see that function for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmfn::tooling::fuzzing::apigw(data));
