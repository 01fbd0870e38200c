//! `wasi:http/outgoing-handler`: wasmtime-wasi-http's, giving back the
//! request options a guest passes with a request.
//!
//! The guest passes `request-options` by ownership, but wasmtime-wasi-http
//! 48's `handle` only reads them and leaves them in the instance's resource
//! table: every request made with options (waki, the SDK's client, passes
//! them on each) would leave an entry behind for the instance's whole life,
//! and a SnapStart init that made a request would look as if it still held
//! a resource.

use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi_http::p2::bindings::http::{outgoing_handler, types};
use wasmtime_wasi_http::WasiHttpView;

/// The interface's name as wasmtime-wasi-http links it.
const INTERFACE: &str = "wasi:http/outgoing-handler@0.2.12";

/// Links `handle` in place of wasmtime-wasi-http's (the linker must allow
/// shadowing).
pub fn add_to_linker<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.instance(INTERFACE)?.func_wrap(
        "handle",
        |mut store: StoreContextMut<'_, T>,
         (request, options): (
            Resource<types::OutgoingRequest>,
            Option<Resource<types::RequestOptions>>,
        )| {
            let mut http = store.data_mut().http();
            let rep = options.as_ref().map(Resource::rep);
            let handled =
                outgoing_handler::Host::handle(&mut http, request, rep.map(Resource::new_own));
            if let Some(options) = options {
                // Ours to drop: the guest gave it away with the request.
                let _ = http.table.delete(options);
            }
            match handled {
                Ok(response) => Ok((Ok(response),)),
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )
}
