//! What a guest can reach beyond its own memory: key-value stores, outbound
//! HTTP, its files (`/tmp`, `/opt`) and its environment, and what the
//! JavaScript engine reads at init.
//!
//! Each capability is a WASI interface (or a wrapper of one) with an
//! `add_to_linker` that is generic over the embedder's state and takes a
//! function from that state to a small view of what the capability needs,
//! as wasmtime-wasi does. No capability names the instance's state: the
//! instance layer (`crate::instance`) implements the views, in one place.
//!
//! May import: `crate::error` and the crates below it; never the instance,
//! function, engine or trigger layers.

pub mod env;
pub mod files;
pub mod http;
pub mod kv;
pub mod task;
