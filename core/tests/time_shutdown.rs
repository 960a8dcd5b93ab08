//! Shutting a runtime down with pending sleeps: nothing hangs, and a `Sleep`
//! polled after its runtime is gone panics with a clear message.
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{sleep, Duration, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;

fn poll_once(s: Pin<&mut Sleep>) -> std::task::Poll<()> {
    s.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn drop_runtime_with_pending_sleeps_multi_thread() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::new().unwrap();
    for i in 0..100u64 {
        let guard = CountDrop(dropped.clone());
        rt.spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600 + i)).await;
            unreachable!("the runtime shut down first");
        });
    }
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 100);
}

#[test]
fn drop_runtime_with_pending_sleeps_current_thread() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = Builder::new_current_thread().build().unwrap();
    for _ in 0..100 {
        let guard = CountDrop(dropped.clone());
        rt.spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        });
    }
    rt.block_on(async { sleep(Duration::from_millis(1)).await });
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 100);
}

#[test]
#[allow(clippy::async_yields_async)] // returning the `Sleep` itself is the point
fn sleep_polled_after_shutdown_panics_clearly() {
    let rt = Builder::new_current_thread().build().unwrap();
    let mut s = rt.block_on(async {
        let mut s = Box::pin(sleep(Duration::from_secs(3600)));
        assert!(poll_once(s.as_mut()).is_pending());
        s
    });
    drop(rt);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll_once(s.as_mut());
    }))
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(msg.contains("being shut down"), "{msg}");
    // Dropping it afterwards is fine.
    drop(s);
}

#[test]
fn shutdown_timeout_with_pending_sleeps() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::new().unwrap();
    let guard = CountDrop(dropped.clone());
    rt.spawn(async move {
        let _guard = guard;
        sleep(Duration::from_secs(3600)).await;
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    // The pending sleep did not keep its task (or the runtime) alive.
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}
