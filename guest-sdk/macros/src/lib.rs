//! The `#[handler]` attribute of the wasmfn guest SDK.
//!
//! It leaves the function as written (so it can be unit-tested natively) and,
//! on wasm targets only, adds the component export that calls it. See the
//! `wasmfn-guest` crate for the user-facing documentation.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{parse_macro_input, FnArg, ItemFn, Path, ReturnType, Token};

/// `#[handler]` or `#[handler(init = path::to::init_fn)]`.
struct Args {
    init: Option<Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut init = None;
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "init" {
                return Err(syn::Error::new_spanned(
                    key,
                    "unknown argument; the only one is `init = path_to_fn`",
                ));
            }
            input.parse::<Token![=]>()?;
            init = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(Args { init })
    }
}

/// Turns `fn handler(event: E, ctx: Context) -> Result<R, Error>` (or an
/// `async fn`) into the component's `handle` export.
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
    if sig.inputs.len() != 2 || sig.inputs.iter().any(|a| matches!(a, FnArg::Receiver(_))) {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "a handler takes exactly two arguments: `(event: E, ctx: wasmfn_guest::Context)`",
        ));
    }
    if matches!(sig.output, ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            sig,
            "a handler returns `Result<R, E>`, where R is serializable and E converts into `wasmfn_guest::Error`",
        ));
    }
    let name = &sig.ident;
    let call = if sig.asyncness.is_some() {
        quote! {
            |event, ctx| ::wasmfn_guest::__private::block_on(#name(event, ctx))
        }
    } else {
        quote! { #name }
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
                    ::wasmfn_guest::__private::handle(event, ctx, #call)
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
