//! A WASI command: a component that exports `wasi:cli/run`, not `handle`.

fn main() {
    println!("I am not a wasmfn handler");
}
