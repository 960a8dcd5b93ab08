//! Unit tests of the attribute expansion, run on `proc_macro2` tokens: every
//! misuse yields a spanned `compile_error!` with a helpful message (these
//! stand in for compile-fail tests), and valid input builds the right
//! runtime.
use crate::entry::{expand, Kind};
use proc_macro2::TokenStream;
use std::str::FromStr;

fn run(kind: Kind, args: &str, item: &str) -> String {
    let args = TokenStream::from_str(args).unwrap();
    let item = TokenStream::from_str(item).unwrap();
    expand(kind, args, item).to_string()
}

/// Asserts that expansion fails with a message containing `needle`, and
/// that the item is still emitted (without `async`).
fn assert_error(kind: Kind, args: &str, item: &str, needle: &str) {
    let out = run(kind, args, item);
    assert!(
        out.contains("compile_error"),
        "expected an error, got: {out}"
    );
    assert!(out.contains(needle), "error lacks {needle:?}: {out}");
    assert!(!out.contains("async fn"), "item should lose `async`: {out}");
}

fn assert_ok(kind: Kind, args: &str, item: &str) -> String {
    let out = run(kind, args, item);
    assert!(!out.contains("compile_error"), "unexpected error: {out}");
    out
}

#[test]
fn non_async_fn_is_rejected() {
    assert_error(
        Kind::Main,
        "",
        "fn main() {}",
        "the `async` keyword is missing",
    );
    assert_error(
        Kind::Test,
        "",
        "fn t() {}",
        "the `async` keyword is missing",
    );
}

#[test]
fn unknown_and_malformed_options_are_rejected() {
    let item = "async fn main() {}";
    assert_error(Kind::Main, "threads = 4", item, "unknown option `threads`");
    assert_error(
        Kind::Main,
        "core_threads = 4",
        item,
        "did you mean `worker_threads`",
    );
    assert_error(Kind::Main, "flavor", item, "`flavor` needs a value");
    assert_error(Kind::Main, "foo", item, "unknown option `foo`");
    assert_error(
        Kind::Main,
        "flavor = \"single\"",
        item,
        "unknown runtime flavor `single`",
    );
    assert_error(
        Kind::Main,
        "flavor = multi_thread",
        item,
        "expects a string literal",
    );
    assert_error(
        Kind::Main,
        "worker_threads = \"4\"",
        item,
        "expects an integer literal",
    );
    assert_error(
        Kind::Main,
        "worker_threads = 0",
        item,
        "must be greater than 0",
    );
    assert_error(
        Kind::Test,
        "start_paused = 1",
        item,
        "expects `true` or `false`",
    );
    assert_error(
        Kind::Main,
        "worker_threads = 2, worker_threads = 3",
        item,
        "set more than once",
    );
    assert_error(Kind::Main, "crate = 5", item, "`crate` expects a path");
}

#[test]
fn options_must_fit_the_flavor() {
    let item = "async fn t() {}";
    // `test` defaults to current_thread.
    assert_error(
        Kind::Test,
        "worker_threads = 2",
        item,
        "requires the `multi_thread` runtime flavor",
    );
    assert_error(
        Kind::Main,
        "flavor = \"current_thread\", worker_threads = 2",
        item,
        "requires the `multi_thread` runtime flavor",
    );
    // `main` defaults to multi_thread.
    assert_error(
        Kind::Main,
        "start_paused = true",
        item,
        "requires the `current_thread` runtime flavor",
    );
    assert_error(
        Kind::Test,
        "start_paused = true, flavor = \"multi_thread\"",
        item,
        "requires the `current_thread` runtime flavor",
    );
}

#[test]
fn arguments_and_generics_are_rejected() {
    assert_error(
        Kind::Main,
        "",
        "async fn main(x: u32) {}",
        "the main function cannot accept arguments",
    );
    assert_error(
        Kind::Test,
        "",
        "async fn t(x: u32) {}",
        "the test function cannot accept arguments",
    );
    assert_error(Kind::Test, "", "async fn t<T>() {}", "cannot be generic");
    // `main` on another function may take arguments (like Tokio).
    assert_ok(Kind::Main, "", "async fn run(x: u32) -> u32 { x }");
}

#[test]
fn second_test_attribute_is_rejected() {
    assert_error(
        Kind::Test,
        "",
        "#[test] async fn t() {}",
        "second test attribute is supplied",
    );
    assert_error(
        Kind::Test,
        "",
        "#[::core::prelude::v1::test] async fn t() {}",
        "second test attribute is supplied",
    );
    // Other attributes are fine.
    let out = assert_ok(Kind::Test, "", "#[should_panic] #[ignore] async fn t() {}");
    assert!(out.contains("should_panic") && out.contains("ignore"));
}

#[test]
fn errors_are_all_reported_at_once() {
    let out = run(Kind::Test, "", "#[test] fn t(x: u8) {}");
    assert!(out.contains("`async` keyword is missing"), "{out}");
    assert!(out.contains("cannot accept arguments"), "{out}");
    assert!(out.contains("second test attribute"), "{out}");
}

#[test]
fn not_a_function_is_an_error_that_keeps_the_item() {
    let out = run(Kind::Main, "", "struct S;");
    assert!(
        out.contains("compile_error") && out.contains("struct S"),
        "{out}"
    );
}

#[test]
fn valid_expansions_build_the_right_runtime() {
    let out = assert_ok(Kind::Main, "", "async fn main() {}");
    assert!(
        out.contains(":: runtime_core :: runtime :: Builder :: new_multi_thread ()"),
        "{out}"
    );
    assert!(!out.contains("async fn"), "{out}");
    assert!(out.contains("block_on"), "{out}");
    assert!(!out.contains("prelude :: v1 :: test"), "{out}");

    let out = assert_ok(Kind::Test, "", "async fn t() {}");
    assert!(out.contains("new_current_thread"), "{out}");
    assert!(
        out.contains("# [:: core :: prelude :: v1 :: test]"),
        "{out}"
    );

    let out = assert_ok(
        Kind::Test,
        "flavor = \"multi_thread\", worker_threads = 2",
        "async fn t() {}",
    );
    assert!(
        out.contains("new_multi_thread () . worker_threads (2usize)"),
        "{out}"
    );

    let out = assert_ok(Kind::Test, "start_paused = true", "async fn t() {}");
    assert!(
        out.contains("new_current_thread () . start_paused (true)"),
        "{out}"
    );

    let out = assert_ok(Kind::Main, "crate = \"my_rt\"", "async fn main() {}");
    assert!(out.contains("my_rt :: runtime :: Builder"), "{out}");
    assert!(!out.contains("runtime_core"), "{out}");
}

#[test]
fn return_type_pins_the_body_output() {
    let out = assert_ok(
        Kind::Main,
        "",
        "async fn main() -> Result<(), E> { Ok(()) }",
    );
    assert!(
        out.contains("Future < Output = Result < () , E > >"),
        "{out}"
    );
    // `impl Trait` cannot be named in a `let`: no annotation then.
    let out = assert_ok(Kind::Main, "", "async fn run() -> impl Sized { 1 }");
    assert!(!out.contains("dyn"), "{out}");
}
