//! `Runtime::shutdown_timeout` with a timeout too large to add to the
//! current `Instant` (`Duration::MAX`, a common spelling of "no limit")
//! shuts down without a bound instead of panicking on the overflow, as
//! Tokio does since its shutdown-timeout overflow fix: running blocking
//! work is waited for, queued work is cancelled.
use runtime_core::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

fn check(rt: Runtime) {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let (tx, rx) = mpsc::channel();
    drop(rt.spawn_blocking(move || {
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        d.store(true, Ordering::SeqCst);
    }));
    rx.recv().unwrap();
    rt.shutdown_timeout(Duration::MAX);
    assert!(
        done.load(Ordering::SeqCst),
        "shutdown_timeout(Duration::MAX) did not wait for running blocking work"
    );
}

#[test]
fn shutdown_timeout_duration_max_current_thread() {
    check(Builder::new_current_thread().build().unwrap());
}

#[test]
fn shutdown_timeout_duration_max_multi_thread() {
    check(
        Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    );
}
