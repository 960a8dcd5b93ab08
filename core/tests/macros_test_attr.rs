//! `#[runtime_core::test]` and `#[runtime_core::main]`: the runtime each
//! builds (flavor, worker count), return types, attributes kept on the item,
//! and, through `crate = "..."` pointing at a recording stand-in, the exact
//! builder calls of the expansion (including `start_paused`).
#![deny(warnings)]

use runtime_core::runtime::{Handle, RuntimeFlavor};

#[runtime_core::test]
async fn test_defaults_to_current_thread() {
    let handle = Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::CurrentThread);
    // A spawned task runs on this very thread.
    let here = std::thread::current().id();
    let there = runtime_core::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(here, there);
}

#[runtime_core::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_multi_thread_with_two_workers() {
    let handle = Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 2);
    let sum = runtime_core::spawn(async { 40 + 2 }).await.unwrap();
    assert_eq!(sum, 42);
}

#[runtime_core::test(flavor = "current_thread")]
async fn test_explicit_current_thread() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
}

#[runtime_core::test(start_paused = true)]
async fn test_start_paused_builds_a_runtime() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
}

#[runtime_core::test]
async fn test_may_return_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[runtime_core::test]
#[should_panic(expected = "boom inside the runtime")]
async fn test_keeps_other_attributes() {
    panic!("boom inside the runtime");
}

#[runtime_core::test]
async fn test_body_may_return_early() {
    let v = vec![1, 2, 3];
    for x in &v {
        if *x == 2 {
            return;
        }
    }
    unreachable!();
}

// `main` on any function: builds a multi-thread runtime by default.
#[runtime_core::main]
async fn main_like() -> Result<RuntimeFlavor, String> {
    let flavor = Handle::current().runtime_flavor();
    let joined = runtime_core::spawn(async { 1 })
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(joined, 1);
    Ok(flavor)
}

#[runtime_core::main(flavor = "current_thread")]
async fn main_like_current_thread() -> RuntimeFlavor {
    Handle::current().runtime_flavor()
}

#[test]
fn main_defaults_to_multi_thread_and_keeps_return_type() {
    assert_eq!(main_like(), Ok(RuntimeFlavor::MultiThread));
    assert_eq!(main_like_current_thread(), RuntimeFlavor::CurrentThread);
    // No runtime leaks out of the generated function.
    assert!(Handle::try_current().is_err());
}

/// A stand-in for `runtime_core` that records the calls the expansion makes,
/// reached with `crate = "crate::recording"`.
mod recording {
    pub mod runtime {
        use std::cell::RefCell;
        use std::future::Future;

        thread_local! {
            static CALLS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        }

        fn record(call: impl Into<String>) {
            CALLS.with(|c| c.borrow_mut().push(call.into()));
        }

        /// A builder constructor starts a new recording (tests may share a
        /// thread, e.g. with `--test-threads=1`).
        fn reset() {
            CALLS.with(|c| c.borrow_mut().clear());
        }

        /// The calls made so far on this thread.
        pub fn calls() -> Vec<String> {
            CALLS.with(|c| c.borrow().clone())
        }

        pub struct Builder(());

        impl Builder {
            pub fn new_multi_thread() -> Builder {
                reset();
                record("new_multi_thread");
                Builder(())
            }
            pub fn new_current_thread() -> Builder {
                reset();
                record("new_current_thread");
                Builder(())
            }
            pub fn worker_threads(&mut self, n: usize) -> &mut Self {
                record(format!("worker_threads({n})"));
                self
            }
            pub fn start_paused(&mut self, paused: bool) -> &mut Self {
                record(format!("start_paused({paused})"));
                self
            }
            pub fn build(&mut self) -> std::io::Result<Runtime> {
                record("build");
                Ok(Runtime(()))
            }
        }

        pub struct Runtime(());

        impl Runtime {
            pub fn block_on<F: Future>(&self, f: F) -> F::Output {
                record("block_on");
                futures::executor::block_on(f)
            }
        }
    }
}

use recording::runtime::calls;

#[runtime_core::test(crate = "crate::recording")]
async fn expansion_test_default() {
    assert_eq!(calls(), ["new_current_thread", "build", "block_on"]);
}

#[runtime_core::test(crate = "crate::recording", start_paused = true)]
async fn expansion_test_start_paused() {
    assert_eq!(
        calls(),
        [
            "new_current_thread",
            "start_paused(true)",
            "build",
            "block_on"
        ]
    );
}

#[runtime_core::test(
    flavor = "current_thread",
    start_paused = false,
    crate = "crate::recording"
)]
async fn expansion_test_start_paused_false_is_omitted() {
    assert_eq!(calls(), ["new_current_thread", "build", "block_on"]);
}

#[runtime_core::test(
    worker_threads = 3,
    crate = "crate::recording",
    flavor = "multi_thread"
)]
async fn expansion_test_multi_thread_workers() {
    assert_eq!(
        calls(),
        ["new_multi_thread", "worker_threads(3)", "build", "block_on"]
    );
}

#[runtime_core::main(crate = "crate::recording")]
async fn recorded_main() -> Vec<String> {
    calls()
}

#[runtime_core::main(crate = "crate::recording", worker_threads = 5)]
async fn recorded_main_workers() -> Vec<String> {
    calls()
}

#[test]
fn expansion_main() {
    // Run on fresh threads: the recording is per thread.
    let calls = std::thread::spawn(recorded_main).join().unwrap();
    assert_eq!(calls, ["new_multi_thread", "build", "block_on"]);
    let calls = std::thread::spawn(recorded_main_workers).join().unwrap();
    assert_eq!(
        calls,
        ["new_multi_thread", "worker_threads(5)", "build", "block_on"]
    );
}
