//! Waiter lists of the sync primitives, from the waiter's side: a waiter
//! that is cancelled (its future dropped) while it is being woken, or
//! handed the resource, must pass that on, and a removal must not corrupt
//! a concurrent wake-all. (The sync module's own models, in
//! `sync/loom_tests.rs`, cover the producer side.)
use super::model;
use crate::sync::{Mutex, Notify};
use futures::task::noop_waker;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use std::future::Future;
use std::task::Context;

/// A queued `lock()` is dropped while the holder unlocks (possibly handing
/// the lock to that very waiter): the next waiter still gets the lock.
#[test]
fn mutex_waiter_cancelled_while_handed_the_lock() {
    model(2, || {
        let m = Arc::new(Mutex::new(0u32));
        let guard = m.try_lock().unwrap();
        let m1 = m.clone();
        let canceller = thread::spawn(move || {
            let mut fut = Box::pin(m1.lock());
            let w = noop_waker();
            let _ = fut.as_mut().poll(&mut Context::from_waker(&w));
            drop(fut);
        });
        let m2 = m.clone();
        let waiter = thread::spawn(move || {
            *block_on(m2.lock()) += 1;
        });
        drop(guard);
        canceller.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 1);
    });
}

/// `notify_waiters` walks the list while another waiter removes itself:
/// a waiter registered before the call is always woken.
#[test]
fn notify_waiters_races_waiter_removal() {
    model(3, || {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let mut a = Box::pin(n.notified());
        let mut b = Box::pin(n.notified());
        a.as_mut().enable();
        b.as_mut().enable();
        let t = thread::spawn(move || n2.notify_waiters());
        drop(b);
        block_on(a);
        t.join().unwrap();
    });
}

/// A `notify_one` that lands on a waiter which is then dropped is passed
/// on to the next waiter (as Tokio does), so it is never lost.
#[test]
fn notify_one_to_dropped_waiter_is_passed_on() {
    model(3, || {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let mut a = Box::pin(n.notified());
        let mut b = Box::pin(n.notified());
        a.as_mut().enable();
        b.as_mut().enable();
        let t = thread::spawn(move || n2.notify_one());
        drop(a);
        block_on(b);
        t.join().unwrap();
    });
}
