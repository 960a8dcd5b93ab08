//! A runtime dropped (or shut down with a timeout) from inside another
//! runtime's blocking closure waits for its own running blocking tasks, as
//! from any other thread, and as Tokio does. Only a thread of the pool
//! being shut down must not wait (it would wait for itself); a thread of
//! some other runtime's pool used to be treated the same, so the drop
//! returned while the dropped runtime's blocking work was still running,
//! on threads it had detached.
use runtime_core::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A runtime running one blocking task that sleeps 300 ms then sets the
/// returned flag; returns once the task has started.
fn runtime_with_running_blocking_task(multi: bool) -> (Runtime, Arc<AtomicBool>) {
    let rt = if multi {
        Builder::new_multi_thread().worker_threads(1).build()
    } else {
        Builder::new_current_thread().build()
    }
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let (tx, rx) = mpsc::channel();
    drop(rt.spawn_blocking(move || {
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        d.store(true, Ordering::SeqCst);
    }));
    rx.recv().unwrap();
    (rt, done)
}

fn check(multi: bool, shut_down: fn(Runtime)) {
    let outer = Builder::new_current_thread().build().unwrap();
    let finished = outer
        .block_on(outer.spawn_blocking(move || {
            let (inner, done) = runtime_with_running_blocking_task(multi);
            shut_down(inner);
            done.load(Ordering::SeqCst)
        }))
        .unwrap();
    assert!(
        finished,
        "the runtime's shutdown returned while its blocking task was still running"
    );
}

#[test]
fn drop_from_another_runtimes_blocking_thread_waits_current_thread() {
    check(false, drop);
}

#[test]
fn drop_from_another_runtimes_blocking_thread_waits_multi_thread() {
    check(true, drop);
}

#[test]
fn shutdown_timeout_from_another_runtimes_blocking_thread_waits() {
    check(true, |rt| rt.shutdown_timeout(Duration::from_secs(30)));
}

/// The pool's own thread still does not wait for itself.
#[test]
fn drop_from_its_own_blocking_thread_does_not_hang() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<Runtime>();
    let h = rt.spawn_blocking(move || drop(rx.recv().unwrap()));
    tx.send(rt).unwrap();
    // The runtime is gone; the task ran to its end on its detached thread.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let waiter = Builder::new_current_thread().build().unwrap();
        let r = waiter.block_on(h);
        done_tx.send(r.is_ok()).unwrap();
    });
    assert!(done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the task that dropped its own runtime never finished"));
}
