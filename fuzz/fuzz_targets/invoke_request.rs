//! Fuzzes `wasmfn::tooling::fuzzing::invoke_request` (see that function for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmfn::tooling::fuzzing::invoke_request(data));
