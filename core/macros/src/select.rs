//! Helper proc macros behind the declarative `select!` (and `join!`) macros.
//!
//! `select!` is a `macro_rules!` tt-muncher in `runtime-core`; it normalises
//! every branch to `( _ _ ... ) pattern = future, if precondition => handler,`
//! where the parenthesised run of `_` tokens has one `_` per *earlier*
//! branch. The helpers here turn that unary count into the things a
//! declarative macro cannot build itself: integer literals, one generic
//! enum variant per branch, and a pattern cleaned for a non-consuming
//! "would it match?" test.
//!
//! Invariants:
//! - A branch's index is the number of `_` tokens in its skip group; the same
//!   count yields the same literal ([`count`]) and variant ([`variant`]), so
//!   the enum declared by [`declare_output_enum`] and the variants the macro
//!   names always agree.
//! - [`clean_pattern_macro`] never changes which values a pattern accepts (except
//!   for exotic literal-behind-reference forms); it only drops binding
//!   modifiers so the pattern can be tested against `&output`.
use proc_macro::{Delimiter, TokenStream, TokenTree};
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};

/// `select!` supports at most this many branches (the disabled mask is a u64).
const MAX_BRANCHES: usize = 64;

/// Counts the `_` tokens (anything, really) of a skip group.
fn count_tokens(stream: TokenStream) -> usize {
    stream.into_iter().count()
}

/// Finds the first parenthesised group of `input` and counts its tokens.
fn first_group_count(input: TokenStream) -> Result<usize, syn::Error> {
    for tt in input {
        if let TokenTree::Group(g) = tt {
            if g.delimiter() == Delimiter::Parenthesis {
                return Ok(count_tokens(g.stream()));
            }
        }
    }
    Err(syn::Error::new(
        Span::call_site(),
        "internal select! error: expected a parenthesised skip group",
    ))
}

/// `select_priv_declare_output_enum!(( _ _ _ ))` declares
/// `pub(super) enum Out<_0, _1, _2> { _0(_0), _1(_1), _2(_2), Disabled }`.
pub(crate) fn declare_output_enum(input: TokenStream) -> TokenStream {
    let branches = match first_group_count(input) {
        Ok(n) => n,
        Err(e) => return e.to_compile_error().into(),
    };
    if branches > MAX_BRANCHES {
        let msg =
            format!("select! supports at most {MAX_BRANCHES} branches, this one has {branches}");
        return syn::Error::new(Span::call_site(), msg)
            .to_compile_error()
            .into();
    }
    let variants: Vec<_> = (0..branches).map(|i| format_ident!("_{}", i)).collect();
    quote! {
        pub(super) enum Out<#( #variants, )*> {
            #( #variants(#variants), )*
            // All branches are disabled (precondition false or pattern mismatch).
            Disabled,
        }
    }
    .into()
}

/// `select_priv_count!(_ _ _)` expands to the literal `3`.
pub(crate) fn count(input: TokenStream) -> TokenStream {
    let n = count_tokens(input);
    let lit = proc_macro2::Literal::usize_unsuffixed(n);
    quote!(#lit).into()
}

/// `select_priv_variant!(path::Out, ( _ _ ) tail...)` expands to
/// `path::Out::_2 tail...`: usable both as an expression head
/// (`...::_2(value)`) and as a whole pattern (`...::_2(pattern)`).
pub(crate) fn variant(input: TokenStream) -> TokenStream {
    let mut path = TokenStream2::new();
    let mut iter = input.into_iter();
    let mut index = None;
    for tt in iter.by_ref() {
        match tt {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                index = Some(count_tokens(g.stream()));
                break;
            }
            // The comma separating the path from the skip group.
            TokenTree::Punct(p) if p.as_char() == ',' => {}
            other => path.extend(TokenStream2::from(TokenStream::from(other))),
        }
    }
    let Some(index) = index else {
        return syn::Error::new(
            Span::call_site(),
            "internal select! error: expected `path, ( skip ) tail`",
        )
        .to_compile_error()
        .into();
    };
    let tail = TokenStream2::from(iter.collect::<TokenStream>());
    let variant = format_ident!("_{}", index);
    quote!(#path :: #variant #tail).into()
}

/// `select_priv_clean_pattern!(pattern)`: the pattern with binding
/// modifiers (`ref`, `mut`) and reference patterns (`&p`) removed, and a
/// top-level string literal given back its `&`, so that
/// `match &output { cleaned => .. }` tests whether `output` matches
/// `pattern` under default binding modes, in every edition, without moving
/// anything out of `output`.
pub(crate) fn clean_pattern_macro(input: TokenStream) -> TokenStream {
    let input = flatten_none_groups(input.into());
    let parsed = syn::parse::Parser::parse2(syn::Pat::parse_multi_with_leading_vert, input);
    let mut pat = match parsed {
        Ok(pat) => pat,
        Err(e) => return e.to_compile_error().into(),
    };
    clean(&mut pat);
    let pat = reference_top_level_literals(pat);
    quote!(#pat).into()
}

/// Replaces invisible (`Delimiter::None`) groups, which `macro_rules!`
/// wraps around `$x:pat` fragments, by their contents.
fn flatten_none_groups(input: TokenStream2) -> TokenStream2 {
    input
        .into_iter()
        .flat_map(|tt| match tt {
            proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::None => {
                flatten_none_groups(g.stream())
            }
            proc_macro2::TokenTree::Group(g) => {
                let mut ng =
                    proc_macro2::Group::new(g.delimiter(), flatten_none_groups(g.stream()));
                ng.set_span(g.span());
                std::iter::once(proc_macro2::TokenTree::Group(ng)).collect()
            }
            other => std::iter::once(other).collect(),
        })
        .collect()
}

/// Removes binding modifiers and reference patterns, recursively.
fn clean(pat: &mut syn::Pat) {
    use syn::Pat;
    match pat {
        Pat::Ident(ident) => {
            ident.by_ref = None;
            ident.mutability = None;
            if let Some((_, sub)) = &mut ident.subpat {
                clean(sub);
            }
        }
        Pat::Or(or) => or.cases.iter_mut().for_each(clean),
        Pat::Paren(paren) => clean(&mut paren.pat),
        Pat::Reference(reference) => {
            let mut inner = (*reference.pat).clone();
            clean(&mut inner);
            *pat = inner;
        }
        Pat::Slice(slice) => slice.elems.iter_mut().for_each(clean),
        Pat::Struct(s) => s.fields.iter_mut().for_each(|f| clean(&mut f.pat)),
        Pat::Tuple(t) => t.elems.iter_mut().for_each(clean),
        Pat::TupleStruct(t) => t.elems.iter_mut().for_each(clean),
        Pat::Type(t) => clean(&mut t.pat),
        // Literals, ranges, paths, wildcards, rest, consts, macros: no bindings
        // to clean (or nothing we can see into).
        _ => {}
    }
}

/// A string or byte-string literal at the top of the pattern must match
/// `&output` itself, whose type has one more `&` than the literal's.
fn reference_top_level_literals(pat: syn::Pat) -> syn::Pat {
    use syn::Pat;
    match pat {
        Pat::Lit(lit) if matches!(lit.lit, syn::Lit::Str(_) | syn::Lit::ByteStr(_)) => {
            syn::parse_quote!(&#lit)
        }
        Pat::Or(mut or) => {
            or.cases = or
                .cases
                .into_iter()
                .map(reference_top_level_literals)
                .collect();
            Pat::Or(or)
        }
        Pat::Paren(mut paren) => {
            *paren.pat = reference_top_level_literals(*paren.pat);
            Pat::Paren(paren)
        }
        other => other,
    }
}
