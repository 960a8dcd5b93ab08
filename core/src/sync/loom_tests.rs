//! Loom models of the concurrent protocols in `sync`: the `AtomicWaker`
//! hand-off, the lock-free mpsc list (with 3-slot blocks under loom so block
//! boundaries are crossed), the batch semaphore's lock-free release racing a
//! queuing acquirer, its waiters' lock-free completion (a `Mutex`'s data
//! seen by the next holder, partial assignment racing a cancel, `close`
//! racing the final release), bounded mpsc back-pressure, oneshot
//! send/close and Notify's stored permit.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" cargo test -p runtime-core --lib --release sync::loom_tests`
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::sync::atomic_waker::AtomicWaker;
use crate::sync::batch_semaphore::Semaphore;
use crate::sync::mpsc::list::{List, Pop};
use loom::future::block_on;
use loom::thread;
use std::future::{poll_fn, Future};
use std::task::Poll;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.max_branches = 10_000;
    b.check(f);
}

#[test]
fn atomic_waker_never_loses_a_wakeup() {
    model(|| {
        let aw = Arc::new(AtomicWaker::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (aw2, flag2) = (aw.clone(), flag.clone());
        let th = thread::spawn(move || {
            flag2.store(true, SeqCst);
            aw2.wake();
        });
        block_on(poll_fn(|cx| {
            aw.register(cx.waker());
            if flag.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        th.join().unwrap();
    });
}

#[test]
fn list_two_producers_cross_a_block() {
    model(|| {
        let list = Arc::new(List::new());
        let ths: Vec<_> = (0..2)
            .map(|p| {
                let list = list.clone();
                thread::spawn(move || {
                    list.push((p, 0));
                    list.push((p, 1));
                })
            })
            .collect();
        let mut next = [0; 2];
        let mut got = 0;
        let mut take = |pop: Pop<(usize, usize)>| {
            if let Pop::Value((p, i)) = pop {
                assert_eq!(next[p], i, "per-producer FIFO");
                next[p] += 1;
                got += 1;
            }
        };
        // Pop while the producers run (no spinning: loom cannot model a
        // consumer that waits for progress by polling)...
        for _ in 0..2 {
            // SAFETY: this thread is the model's only consumer.
            take(unsafe { list.pop() });
        }
        for th in ths {
            th.join().unwrap();
        }
        // ...then everything left must be there, in order.
        for _ in 0..4 {
            // SAFETY: as above.
            take(unsafe { list.pop() });
        }
        assert_eq!(got, 4);
        // SAFETY: as above.
        assert!(matches!(unsafe { list.pop() }, Pop::Empty));
    });
}

#[test]
fn semaphore_release_races_queuing_acquire() {
    model(|| {
        let s = Arc::new(Semaphore::new(0));
        let s2 = s.clone();
        let th = thread::spawn(move || s2.release(2));
        block_on(s.acquire(2)).unwrap();
        th.join().unwrap();
        assert_eq!(s.available_permits(), 0);
    });
}

#[test]
fn semaphore_handoff_between_two_holders() {
    model(|| {
        let s = Arc::new(Semaphore::new(1));
        let s2 = s.clone();
        let th = thread::spawn(move || {
            block_on(s2.acquire(1)).unwrap();
            s2.release(1);
        });
        block_on(s.acquire(1)).unwrap();
        s.release(1);
        th.join().unwrap();
        assert_eq!(s.available_permits(), 1);
    });
}

/// A waiter that reads its count at zero without the lock must still see
/// what the previous holder wrote (Release store, Acquire load).
#[test]
fn mutex_data_visible_after_lockfree_wakeup() {
    model(|| {
        let m = Arc::new(crate::sync::Mutex::new(0usize));
        let m2 = m.clone();
        let th = thread::spawn(move || {
            *block_on(m2.lock()) += 1;
        });
        *block_on(m.lock()) += 1;
        th.join().unwrap();
        assert_eq!(*block_on(m.lock()), 2);
    });
}

/// Two releasers fill a two-permit waiter one permit each while it is
/// dropped: whatever it had been assigned comes back.
#[test]
fn partial_assignment_two_releasers_vs_cancel() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.max_branches = 10_000;
    b.check(|| {
        let s = Arc::new(Semaphore::new(0));
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut acq = Box::pin(s.acquire(2));
        assert!(acq.as_mut().poll(&mut cx).is_pending());
        let (s1, s2) = (s.clone(), s.clone());
        let t1 = thread::spawn(move || s1.release(1));
        let t2 = thread::spawn(move || s2.release(1));
        let got = acq.as_mut().poll(&mut cx).is_ready();
        drop(acq);
        if got {
            s.release(2);
        }
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(s.available_permits(), 2, "a permit was lost or doubled");
    });
}

/// `close` racing the release that completes a waiter: the waiter either
/// got its permit (then holds it) or was closed out (then it is back).
#[test]
fn close_races_final_release() {
    model(|| {
        let s = Arc::new(Semaphore::new(0));
        let (s1, s2) = (s.clone(), s.clone());
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut acq = Box::pin(s.acquire(1));
        assert!(acq.as_mut().poll(&mut cx).is_pending());
        let t1 = thread::spawn(move || s1.release(1));
        let t2 = thread::spawn(move || s2.close());
        // Polled again (with a new waker) while both race.
        let got = block_on(acq.as_mut());
        t1.join().unwrap();
        t2.join().unwrap();
        drop(acq);
        let expect = if got.is_ok() { 0 } else { 1 };
        assert_eq!(s.available_permits(), expect);
    });
}

#[test]
fn mpsc_send_then_close_wakes_receiver() {
    model(|| {
        let (tx, mut rx) = crate::sync::mpsc::channel(1);
        let th = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), None);
        th.join().unwrap();
    });
}

#[test]
fn mpsc_full_sender_is_woken_by_recv() {
    model(|| {
        let (tx, mut rx) = crate::sync::mpsc::channel(1);
        tx.try_send(1).unwrap();
        let th = thread::spawn(move || {
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(rx.try_recv(), Ok(1));
        th.join().unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
    });
}

#[test]
fn oneshot_send_races_close() {
    model(|| {
        let (tx, mut rx) = crate::sync::oneshot::channel();
        let th = thread::spawn(move || tx.send(1).is_ok());
        rx.close();
        let received = rx.try_recv().is_ok();
        let sent = th.join().unwrap();
        // Once the receiver closed, a value is accepted only if it is
        // then received.
        assert_eq!(sent, received);
    });
}

#[test]
fn oneshot_send_wakes_receiver() {
    model(|| {
        let (tx, rx) = crate::sync::oneshot::channel();
        let th = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_on(rx), Ok(7));
        th.join().unwrap();
    });
}

#[test]
fn notify_one_is_never_lost() {
    model(|| {
        let n = Arc::new(crate::sync::Notify::new());
        let n2 = n.clone();
        let th = thread::spawn(move || n2.notify_one());
        block_on(n.notified());
        th.join().unwrap();
    });
}

#[test]
fn bounded_mpsc_backpressure_and_close() {
    model(|| {
        let (tx, mut rx) = crate::sync::mpsc::channel(1);
        let th = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        th.join().unwrap();
    });
}

#[test]
fn cancelled_acquire_passes_its_permit_on() {
    model(|| {
        let s = Arc::new(Semaphore::new(0));
        let s2 = s.clone();
        let th = thread::spawn(move || s2.release(1));
        {
            // Poll once (queue up), then cancel, racing the release.
            let mut acq = Box::pin(s.acquire(1));
            let waker = futures_util::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            if acq.as_mut().poll(&mut cx).is_ready() {
                s.release(1);
            }
        }
        th.join().unwrap();
        assert_eq!(s.available_permits(), 1, "the permit was lost");
    });
}
