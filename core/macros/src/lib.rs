//! `#[runtime_core::main]` and `#[runtime_core::test]`.
//!
//! (Being built.)
use proc_macro::TokenStream;

/// Marks the async entry point of a program.
#[proc_macro_attribute]
pub fn main(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Marks an async test.
#[proc_macro_attribute]
pub fn test(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
