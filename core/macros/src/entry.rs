//! `#[runtime_core::main]` and `#[runtime_core::test]`: turn an `async fn`
//! into a plain `fn` that builds a runtime and `block_on`s the body.
//!
//! Expansion (for `test`, a `#[::core::prelude::v1::test]` attribute comes
//! first):
//!
//! ```text
//! fn name() -> R {
//!     let body = async move { /* original body */ };
//!     let body: Pin<&mut dyn Future<Output = R>> = pin!(body);
//!     return ::runtime_core::runtime::Builder::new_multi_thread()   // or new_current_thread()
//!         .worker_threads(N)                                        // if given
//!         .start_paused(true)                                       // if given
//!         .build()
//!         .expect("Failed building the Runtime")
//!         .block_on(body);
//! }
//! ```
//!
//! Invariants:
//! - Every misuse is reported as a `compile_error!` spanned on the offending
//!   tokens, and the original item is still emitted next to the error (with
//!   `async` stripped when possible) so IDEs and later errors stay sensible.
//! - Options are validated together, after all are parsed, so their order
//!   does not matter: `worker_threads` needs `multi_thread`, `start_paused`
//!   needs `current_thread`.
//! - The body's output type is pinned to the function's declared return type
//!   (unless it is `impl Trait`), so `?` and `return` inside the body infer
//!   exactly as they would in the `async fn`.
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Test => "test",
        }
    }
}

/// The runtime flavor to build.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    fn from_str(s: &str) -> Option<Flavor> {
        match s {
            "current_thread" => Some(Flavor::CurrentThread),
            "multi_thread" => Some(Flavor::MultiThread),
            _ => None,
        }
    }
}

/// Options given in the attribute, before validation.
#[derive(Default)]
struct Options {
    // Each with the option's tokens, to span later errors over all of it.
    flavor: Option<(Flavor, TokenStream)>,
    worker_threads: Option<(usize, TokenStream)>,
    start_paused: Option<(bool, TokenStream)>,
    crate_path: Option<syn::Path>,
}

/// Validated configuration.
struct Config {
    flavor: Flavor,
    worker_threads: Option<usize>,
    start_paused: bool,
    crate_path: syn::Path,
}

const OPTIONS: &str = "`flavor`, `worker_threads`, `start_paused`, `crate`";

/// Entry point shared by both attributes.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut input: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_error(item, e),
    };
    let config = parse_args(kind, args).and_then(|opts| validate(kind, opts));
    let checks = check_item(kind, &input);
    match (config, checks) {
        (Ok(config), Ok(())) => generate(kind, input, config),
        (config, checks) => {
            let mut errors: Option<syn::Error> = None;
            for e in [config.err(), checks.err()].into_iter().flatten() {
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
            }
            // Emit the item without `async` so the only errors the user sees
            // are ours, not "`main` function is not allowed to be `async`".
            input.sig.asyncness = None;
            let err = errors.map(|e| e.to_compile_error());
            quote!(#err #input)
        }
    }
}

fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#item #error)
}

fn parse_args(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut opts = Options::default();
    for meta in metas {
        let name_value = match meta {
            Meta::NameValue(nv) => nv,
            other => {
                let name = other.path().to_token_stream().to_string().replace(' ', "");
                let msg = if is_option(&name) {
                    format!("`{name}` needs a value: `{name} = ...`")
                } else {
                    format!("unknown option `{name}`; expected one of: {OPTIONS}")
                };
                return Err(syn::Error::new_spanned(other, msg));
            }
        };
        let name = name_value
            .path
            .to_token_stream()
            .to_string()
            .replace(' ', "");
        let span = name_value.to_token_stream();
        match name.as_str() {
            "flavor" => {
                set_once(&mut opts.flavor, &name_value, || {
                    let s = string_value(&name_value.value, "flavor")?;
                    let flavor = Flavor::from_str(&s).ok_or_else(|| {
                        syn::Error::new_spanned(
                            &name_value.value,
                            format!(
                                "unknown runtime flavor `{s}`; expected `\"current_thread\"` or `\"multi_thread\"`"
                            ),
                        )
                    })?;
                    Ok((flavor, span.clone()))
                })?;
            }
            "worker_threads" => set_once(&mut opts.worker_threads, &name_value, || {
                let n = int_value(&name_value.value, "worker_threads")?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        &name_value.value,
                        "`worker_threads` must be greater than 0",
                    ));
                }
                Ok((n, span.clone()))
            })?,
            "start_paused" => set_once(&mut opts.start_paused, &name_value, || {
                Ok((bool_value(&name_value.value, "start_paused")?, span.clone()))
            })?,
            "crate" => set_once(&mut opts.crate_path, &name_value, || {
                path_value(&name_value.value)
            })?,
            _ => {
                let hint = if kind == Kind::Main && name == "core_threads" {
                    " (did you mean `worker_threads`?)"
                } else {
                    ""
                };
                return Err(syn::Error::new_spanned(
                    &name_value.path,
                    format!("unknown option `{name}`; expected one of: {OPTIONS}{hint}"),
                ));
            }
        }
    }
    Ok(opts)
}

fn is_option(name: &str) -> bool {
    matches!(name, "flavor" | "worker_threads" | "start_paused" | "crate")
}

fn set_once<T>(
    slot: &mut Option<T>,
    nv: &syn::MetaNameValue,
    value: impl FnOnce() -> syn::Result<T>,
) -> syn::Result<()> {
    if slot.is_some() {
        let name = nv.path.to_token_stream().to_string().replace(' ', "");
        return Err(syn::Error::new_spanned(
            &nv.path,
            format!("`{name}` is set more than once"),
        ));
    }
    *slot = Some(value()?);
    Ok(())
}

fn lit(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        Expr::Group(g) => lit(&g.expr),
        _ => None,
    }
}

fn string_value(expr: &Expr, name: &str) -> syn::Result<String> {
    match lit(expr) {
        Some(Lit::Str(s)) => Ok(s.value()),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{name}` expects a string literal, e.g. `{name} = \"multi_thread\"`"),
        )),
    }
}

fn int_value(expr: &Expr, name: &str) -> syn::Result<usize> {
    match lit(expr) {
        Some(Lit::Int(i)) => i.base10_parse::<usize>(),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{name}` expects an integer literal, e.g. `{name} = 4`"),
        )),
    }
}

fn bool_value(expr: &Expr, name: &str) -> syn::Result<bool> {
    match lit(expr) {
        Some(Lit::Bool(b)) => Ok(b.value),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{name}` expects `true` or `false`"),
        )),
    }
}

fn path_value(expr: &Expr) -> syn::Result<syn::Path> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse::<syn::Path>().map_err(|e| {
            syn::Error::new_spanned(
                s,
                format!("`crate` expects a path, e.g. `crate = \"my_rt\"`: {e}"),
            )
        }),
        Expr::Path(p) if p.qself.is_none() => Ok(p.path.clone()),
        Expr::Group(g) => path_value(&g.expr),
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` expects a path, e.g. `crate = \"my_rt\"`",
        )),
    }
}

fn validate(kind: Kind, opts: Options) -> syn::Result<Config> {
    let default_flavor = match kind {
        Kind::Main => Flavor::MultiThread,
        Kind::Test => Flavor::CurrentThread,
    };
    let flavor = opts.flavor.as_ref().map_or(default_flavor, |(f, _)| *f);
    let name = kind.name();
    if let Some((_, tokens)) = &opts.worker_threads {
        if flavor == Flavor::CurrentThread {
            let msg = if opts.flavor.is_some() {
                "the `worker_threads` option requires the `multi_thread` runtime flavor".to_owned()
            } else {
                format!(
                    "the `worker_threads` option requires the `multi_thread` runtime flavor; use `#[runtime_core::{name}(flavor = \"multi_thread\", worker_threads = ...)]`"
                )
            };
            return Err(syn::Error::new_spanned(tokens, msg));
        }
    }
    if let Some((true, tokens)) = &opts.start_paused {
        if flavor == Flavor::MultiThread {
            let msg = if opts.flavor.is_some() {
                "the `start_paused` option requires the `current_thread` runtime flavor".to_owned()
            } else {
                format!(
                    "the `start_paused` option requires the `current_thread` runtime flavor; use `#[runtime_core::{name}(flavor = \"current_thread\", start_paused = true)]`"
                )
            };
            return Err(syn::Error::new_spanned(tokens, msg));
        }
    }
    Ok(Config {
        flavor,
        worker_threads: opts.worker_threads.as_ref().map(|(n, _)| *n),
        start_paused: opts.start_paused.as_ref().is_some_and(|(b, _)| *b),
        crate_path: opts
            .crate_path
            .unwrap_or_else(|| syn::parse_quote!(::runtime_core)),
    })
}

/// Checks the function itself: `async`, no parameters, no generics, and for
/// tests no second test attribute.
fn check_item(kind: Kind, input: &syn::ItemFn) -> syn::Result<()> {
    let sig = &input.sig;
    let name = kind.name();
    let mut errors: Vec<syn::Error> = Vec::new();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!("the `async` keyword is missing from the function declaration (`#[runtime_core::{name}]` needs an async function)"),
        ));
    }
    match kind {
        Kind::Main if sig.ident == "main" && !sig.inputs.is_empty() => {
            errors.push(syn::Error::new_spanned(
                &sig.inputs,
                "the main function cannot accept arguments",
            ));
        }
        Kind::Test if !sig.inputs.is_empty() => {
            errors.push(syn::Error::new_spanned(
                &sig.inputs,
                "the test function cannot accept arguments",
            ));
        }
        _ => {}
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("a `#[runtime_core::{name}]` function cannot be generic"),
        ));
    }
    if kind == Kind::Test {
        if let Some(attr) = input.attrs.iter().find(|a| is_test_attribute(a)) {
            errors.push(syn::Error::new_spanned(
                attr,
                "second test attribute is supplied: `#[runtime_core::test]` already adds `#[test]`; remove this one",
            ));
        }
    }
    let mut iter = errors.into_iter();
    match iter.next() {
        None => Ok(()),
        Some(mut first) => {
            iter.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// `#[test]`, `#[core::prelude::v1::test]`, `#[::std::prelude::rust_2021::test]`...
fn is_test_attribute(attr: &syn::Attribute) -> bool {
    let syn::Meta::Path(path) = &attr.meta else {
        return false;
    };
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [only] => only == "test",
        [krate, prelude, _edition, test] => {
            (krate == "core" || krate == "std") && prelude == "prelude" && test == "test"
        }
        _ => false,
    }
}

fn generate(kind: Kind, mut input: syn::ItemFn, config: Config) -> TokenStream {
    input.sig.asyncness = None;
    let krate = &config.crate_path;
    // Errors in the runtime construction point at the attribute's function
    // signature; errors in the body keep the body's own spans.
    let span = input.sig.ident.span();
    let builder = match config.flavor {
        Flavor::CurrentThread => {
            quote_spanned!(span=> #krate::runtime::Builder::new_current_thread())
        }
        Flavor::MultiThread => quote_spanned!(span=> #krate::runtime::Builder::new_multi_thread()),
    };
    let worker_threads = config
        .worker_threads
        .map(|n| quote_spanned!(span=> .worker_threads(#n)));
    let start_paused = config
        .start_paused
        .then(|| quote_spanned!(span=> .start_paused(true)));

    let body = &input.block;
    // `(span of the return type, the type)`; `()` for no return type.
    let output_type = match &input.sig.output {
        syn::ReturnType::Default => Some((span, quote!(()))),
        syn::ReturnType::Type(_, ty) if contains_impl_trait(ty) => None,
        syn::ReturnType::Type(_, ty) => Some((ty.span(), ty.to_token_stream())),
    };
    // Pinning the body as `dyn Future<Output = R>` fixes its output type, so
    // `?` and `return` infer as in the `async fn`; a mismatch is reported at
    // the return type.
    let pin_body = output_type.map(|(ty_span, ty)| {
        quote_spanned! {ty_span=>
            let body = ::core::pin::pin!(body);
            let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #ty>> = body;
        }
    });
    let async_body = quote_spanned!(body.span()=> async move #body);
    let block_on = quote_spanned! {span=>
        #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
        {
            return #builder
                #worker_threads
                #start_paused
                .build()
                .expect("Failed building the Runtime")
                .block_on(body);
        }
    };
    let new_body: syn::Block = syn::parse_quote! {
        {
            let body = #async_body;
            #pin_body
            #block_on
        }
    };
    *input.block = new_body;
    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    quote! {
        #test_attr
        #input
    }
}

fn contains_impl_trait(ty: &syn::Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|tt| matches!(&tt, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        || matches!(ty, syn::Type::ImplTrait(_))
}
