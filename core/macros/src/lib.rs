//! `#[runtime_core::main]` and `#[runtime_core::test]`, plus the hidden
//! helpers behind `runtime_core::select!`.
//!
//! Use these through `runtime-core` (`runtime_core::main`,
//! `runtime_core::test`), which re-exports them; the expansion refers to
//! `::runtime_core` unless told otherwise with `crate = "..."`.
use proc_macro::TokenStream;

mod entry;
mod select;

/// Marks the async entry point of a program: the `async fn` runs inside a
/// freshly built runtime.
///
/// By default the runtime is multi-threaded with one worker per CPU. Options:
///
/// - `flavor = "multi_thread"` (default) or `flavor = "current_thread"`;
/// - `worker_threads = N` (multi-thread flavor only);
/// - `start_paused = true` (current-thread flavor only): the clock starts
///   paused, see `runtime_core::time`;
/// - `crate = "path"`: where to find `runtime_core` if it was renamed.
///
/// # Examples
///
/// ```
/// #[runtime_core::main]
/// async fn main() {
///     let answer = runtime_core::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// ```
///
/// A single-threaded runtime, with a fallible `main`:
///
/// ```
/// #[runtime_core::main(flavor = "current_thread")]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     let n: u32 = "42".parse()?;
///     assert_eq!(n, 42);
///     Ok(())
/// }
/// ```
///
/// is equivalent to
///
/// ```
/// fn main() -> Result<(), std::num::ParseIntError> {
///     runtime_core::runtime::Builder::new_current_thread()
///         .build()
///         .expect("Failed building the Runtime")
///         .block_on(async {
///             let n: u32 = "42".parse()?;
///             assert_eq!(n, 42);
///             Ok(())
///         })
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Main, args.into(), item.into()).into()
}

/// Marks an async test: like `#[test]`, but the `async fn` runs inside a
/// freshly built runtime.
///
/// By default the runtime is a current-thread runtime (each test gets its
/// own). Options are those of [`macro@main`]: `flavor`, `worker_threads`
/// (multi-thread only), `start_paused` (current-thread only) and `crate`.
/// Do not add `#[test]` yourself: this attribute adds it.
///
/// # Examples
///
/// ```
/// # fn main() {}
/// #[runtime_core::test]
/// async fn adds() {
///     let v = runtime_core::spawn(async { 1 + 1 }).await.unwrap();
///     assert_eq!(v, 2);
/// }
///
/// #[runtime_core::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn on_two_workers() {
///     let handles: Vec<_> = (0..4).map(|i| runtime_core::spawn(async move { i })).collect();
///     for (i, h) in handles.into_iter().enumerate() {
///         assert_eq!(h.await.unwrap(), i);
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Test, args.into(), item.into()).into()
}

/// Implementation detail of `select!`; not public API.
#[doc(hidden)]
#[proc_macro]
pub fn select_priv_declare_output_enum(input: TokenStream) -> TokenStream {
    select::declare_output_enum(input)
}

/// Implementation detail of `select!`; not public API.
#[doc(hidden)]
#[proc_macro]
pub fn select_priv_clean_pattern(input: TokenStream) -> TokenStream {
    select::clean_pattern_macro(input)
}

/// Implementation detail of `select!` and `join!`; not public API.
#[doc(hidden)]
#[proc_macro]
pub fn select_priv_count(input: TokenStream) -> TokenStream {
    select::count(input)
}

/// Implementation detail of `select!`; not public API.
#[doc(hidden)]
#[proc_macro]
pub fn select_priv_variant(input: TokenStream) -> TokenStream {
    select::variant(input)
}

#[cfg(test)]
mod entry_tests;
