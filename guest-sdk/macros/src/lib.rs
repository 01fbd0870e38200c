//! The `#[handler]` attribute of the wasmfn guest SDK.
//!
//! It leaves the function as written (so it can be unit-tested natively) and,
//! on wasm targets only, adds the component export that calls it. See the
//! `wasmfn-guest` crate for the user-facing documentation.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{parse_macro_input, FnArg, ItemFn, Path, ReturnType, Token};

/// `#[handler]`, `#[handler(init = path::to::init_fn)]`, `#[handler(streaming)]`
/// or both.
struct Args {
    init: Option<Path>,
    streaming: bool,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args {
            init: None,
            streaming: false,
        };
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key == "streaming" {
                args.streaming = true;
            } else if key == "init" {
                input.parse::<Token![=]>()?;
                args.init = Some(input.parse()?);
            } else {
                return Err(syn::Error::new_spanned(
                    key,
                    "unknown argument; the arguments are `init = path_to_fn` and `streaming`",
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// Turns `fn handler(event: E, ctx: Context) -> Result<R, Error>` (or an
/// `async fn`) into the component's `handle` and `handle-stream` exports;
/// with `streaming`, `fn handler(event: E, out: &mut ResponseStream, ctx:
/// Context) -> Result<(), Error>`.
#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(attr as Args);
    let func = parse_macro_input!(item as ItemFn);
    match expand(args, func) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(args: Args, func: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let sig = &func.sig;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a handler cannot be generic: its event and response types must be concrete",
        ));
    }
    let arity = if args.streaming { 3 } else { 2 };
    if sig.inputs.len() != arity || sig.inputs.iter().any(|a| matches!(a, FnArg::Receiver(_))) {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            if args.streaming {
                "a streaming handler takes exactly three arguments: `(event: E, out: &mut wasmfn_guest::stream::ResponseStream, ctx: wasmfn_guest::Context)`"
            } else {
                "a handler takes exactly two arguments: `(event: E, ctx: wasmfn_guest::Context)`"
            },
        ));
    }
    if matches!(sig.output, ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            sig,
            "a handler returns `Result<R, E>`, where R is serializable and E converts into `wasmfn_guest::Error`",
        ));
    }
    let name = &sig.ident;
    let call = match (sig.asyncness.is_some(), args.streaming) {
        (true, false) => quote! {
            |event, ctx| ::wasmfn_guest::__private::block_on(#name(event, ctx))
        },
        (true, true) => quote! {
            |event, out: &mut ::wasmfn_guest::stream::ResponseStream, ctx| {
                ::wasmfn_guest::__private::block_on(#name(event, out, ctx))
            }
        },
        (false, _) => quote! { #name },
    };
    let (handle, handle_stream) = if args.streaming {
        (
            quote! { ::wasmfn_guest::__private::handle_buffered(event, ctx, #call) },
            quote! { ::wasmfn_guest::__private::handle_stream(event, ctx, #call) },
        )
    } else {
        (
            quote! { ::wasmfn_guest::__private::handle(event, ctx, #call) },
            quote! { ::wasmfn_guest::__private::handle_as_stream(event, ctx, #call) },
        )
    };
    let init = match args.init {
        Some(path) => quote! { #path },
        None => quote! { ::wasmfn_guest::__private::no_init },
    };
    Ok(quote! {
        #[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
        #func

        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __WasmfnHandler;

            impl ::wasmfn_guest::__private::Guest for __WasmfnHandler {
                fn init() -> ::core::result::Result<(), ::wasmfn_guest::__private::WitError> {
                    ::wasmfn_guest::__private::init(#init)
                }

                fn handle(
                    event: ::std::vec::Vec<u8>,
                    ctx: ::wasmfn_guest::__private::WitContext,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, ::wasmfn_guest::__private::WitError> {
                    #handle
                }

                fn handle_stream(
                    event: ::std::vec::Vec<u8>,
                    ctx: ::wasmfn_guest::__private::WitContext,
                ) -> ::core::result::Result<(), ::wasmfn_guest::__private::WitError> {
                    #handle_stream
                }
            }

            ::wasmfn_guest::bindings::__export_handler_world!(__WasmfnHandler with_types_in ::wasmfn_guest::bindings);
        };

        // Natively nothing exports the handler; referring to `init` keeps
        // a native build (unit tests) free of dead-code warnings.
        #[cfg(not(target_family = "wasm"))]
        const _: () = {
            let _ = #init;
        };
    })
}
