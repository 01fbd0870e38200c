//! The integration suite: real wasm guests, built from `functions/` and
//! `tests/guests/`, run through the real host — as a library and as the
//! `wasmfn` binary. One test binary, so the host links once.

mod support;

mod cache;
mod cli;
mod events;
mod files;
mod functions;
mod fuzz;
mod generate;
mod guest_build;
mod guide;
mod hostile;
mod invoke;
mod js;
mod js_guide;
mod kv;
mod lambda;
mod logging;
mod outbound;
mod pool;
mod python;
mod scaffold;
mod serve;
mod snapstart;
mod streaming;
mod tenants;
