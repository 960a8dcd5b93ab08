//! `sync::Notify`: permit storage, notify_waiters, FIFO, enable, cancellation.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::Notify;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn notify_one_stores_a_single_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one(); // permits do not accumulate
    let mut a = pin!(n.notified());
    assert!(poll(a.as_mut()).is_ready());
    let mut b = pin!(n.notified());
    assert!(poll(b.as_mut()).is_pending());
    n.notify_one();
    assert!(poll(b.as_mut()).is_ready());
}

#[test]
fn notify_waiters_stores_no_permit() {
    let n = Notify::new();
    n.notify_waiters();
    let mut a = pin!(n.notified());
    assert!(poll(a.as_mut()).is_pending());
}

#[test]
fn notify_waiters_wakes_registered_and_created_futures() {
    let n = Notify::new();
    let mut registered = pin!(n.notified());
    assert!(poll(registered.as_mut()).is_pending());
    // Created before the call but never polled: still counts.
    let mut created = pin!(n.notified());
    n.notify_waiters();
    let mut after = pin!(n.notified());
    assert!(poll(registered.as_mut()).is_ready());
    assert!(poll(created.as_mut()).is_ready());
    assert!(poll(after.as_mut()).is_pending());
}

#[test]
fn notify_one_wakes_in_fifo_order() {
    let n = Notify::new();
    let mut a = pin!(n.notified());
    let mut b = pin!(n.notified());
    let mut c = pin!(n.notified());
    assert!(poll(a.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_pending());
    assert!(poll(c.as_mut()).is_pending());
    n.notify_one();
    assert!(poll(c.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_pending());
    assert!(poll(a.as_mut()).is_ready());
    n.notify_one();
    assert!(poll(c.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_ready());
}

#[test]
fn enable_registers_without_polling() {
    let n = Notify::new();
    let mut a = pin!(n.notified());
    assert!(!a.as_mut().enable());
    // Registered, so the notification goes to it rather than to a permit.
    n.notify_one();
    let mut b = pin!(n.notified());
    assert!(poll(b.as_mut()).is_pending());
    assert!(poll(a.as_mut()).is_ready());
    n.notify_one(); // goes to the registered `b`
    assert!(poll(b.as_mut()).is_ready());

    n.notify_one(); // nobody waits: stored permit
    let mut c = pin!(n.notified());
    assert!(c.as_mut().enable());
}

#[test]
fn dropped_notified_forwards_its_notification() {
    let n = Notify::new();
    let mut b = pin!(n.notified());
    {
        let mut a = Box::pin(n.notified());
        assert!(poll(a.as_mut()).is_pending());
        assert!(poll(b.as_mut()).is_pending());
        n.notify_one(); // picks `a`
    } // `a` dropped without completing
    assert!(poll(b.as_mut()).is_ready());

    // With nobody else waiting, it turns back into the stored permit.
    let mut a = Box::pin(n.notified());
    assert!(poll(a.as_mut()).is_pending());
    n.notify_one();
    drop(a);
    let mut c = pin!(n.notified());
    assert!(poll(c.as_mut()).is_ready());

    // A waiter dropped while still queued takes nothing with it.
    let mut a = Box::pin(n.notified());
    assert!(poll(a.as_mut()).is_pending());
    drop(a);
    let mut d = pin!(n.notified());
    assert!(poll(d.as_mut()).is_pending());
}

#[test]
fn cross_thread_wakeups() {
    const ROUNDS: usize = if cfg!(miri) { 20 } else { 1000 };
    let n = Arc::new(Notify::new());
    let n2 = n.clone();
    let h = std::thread::spawn(move || {
        for _ in 0..ROUNDS {
            block_on(n2.notified());
        }
    });
    for _ in 0..ROUNDS {
        n.notify_one();
        // Wait until the permit is consumed so none is coalesced.
        while n.notified_is_stored() {
            std::thread::yield_now();
        }
    }
    h.join().unwrap();
}

trait StoredPermit {
    fn notified_is_stored(&self) -> bool;
}

impl StoredPermit for Notify {
    /// Whether a permit is stored, observed by enabling a fresh `Notified`
    /// and forwarding its permit back if it took one.
    fn notified_is_stored(&self) -> bool {
        let mut f = Box::pin(self.notified());
        if poll(f.as_mut()).is_ready() {
            self.notify_one();
            true
        } else {
            false
        }
    }
}

#[test]
fn notify_waiters_wakes_every_runtime_task() {
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let n = Arc::new(Notify::new());
        let (ready_tx, mut ready_rx) = runtime_core::sync::mpsc::unbounded_channel();
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let n = n.clone();
                let ready_tx = ready_tx.clone();
                runtime_core::spawn(async move {
                    let notified = n.notified();
                    let mut notified = std::pin::pin!(notified);
                    notified.as_mut().enable();
                    ready_tx.send(()).unwrap();
                    notified.await;
                })
            })
            .collect();
        for _ in 0..8 {
            ready_rx.recv().await.unwrap();
        }
        n.notify_waiters();
        for h in hs {
            h.await.unwrap();
        }
    });
}
