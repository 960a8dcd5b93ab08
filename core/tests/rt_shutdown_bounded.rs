//! shutdown_timeout / shutdown_background are bounded; runtimes dropped from their own tasks do not hang.
use runtime_core::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

/// Tokio: `shutdown_background` does not wait for anything.
#[test]
fn shutdown_background_does_not_wait_for_busy_worker() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    rt.spawn(async move {
        s.store(true, SeqCst);
        std::thread::sleep(Duration::from_secs(3)); // a badly behaved task
    });
    while !started.load(SeqCst) {
        std::thread::yield_now();
    }
    let t = Instant::now();
    rt.shutdown_background();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn runtime_dropped_from_its_own_task() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = Arc::new(
            Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        );
        let rt2 = rt.clone();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        rt.spawn(async move {
            go_rx.recv().unwrap();
            drop(rt2);
        });
        drop(rt);
        go_tx.send(()).unwrap();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("hung");
}

static WAKER_DROPS: AtomicUsize = AtomicUsize::new(0);
fn pw_clone(p: *const ()) -> RawWaker {
    RawWaker::new(p, &PANIC_VT)
}
fn pw_wake(_: *const ()) {
    WAKER_DROPS.fetch_add(1, SeqCst);
    panic!("waker panics");
}
fn pw_wake_by_ref(_: *const ()) {
    panic!("waker panics");
}
fn pw_drop(_: *const ()) {
    WAKER_DROPS.fetch_add(1, SeqCst);
}
static PANIC_VT: RawWakerVTable = RawWakerVTable::new(pw_clone, pw_wake, pw_wake_by_ref, pw_drop);

/// The join waker stored in the task must be dropped even if its `wake`
/// panics.
#[test]
fn panicking_join_waker_is_not_leaked() {
    let rt: Runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let mut jh = rt.spawn(async move {
        go_rx.recv().unwrap();
    });
    // SAFETY: PANIC_VT's functions ignore the (null) data pointer and only
    // count clones/drops, so any data pointer satisfies the RawWaker contract.
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &PANIC_VT)) };
    let mut cx = Context::from_waker(&waker);
    assert!(std::pin::Pin::new(&mut jh).poll(&mut cx).is_pending()); // clone stored
    go_tx.send(()).unwrap();
    while !jh.is_finished() {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(50));
    drop(jh);
    drop(waker);
    drop(rt);
    // one clone stored in the task + the original
    assert_eq!(WAKER_DROPS.load(SeqCst), 2, "join waker leaked");
}
use std::future::Future;
