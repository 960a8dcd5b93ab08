//! `sync`: a waker whose `clone` or `drop` panics (foreign code run by a
//! primitive while it registers a waiter) must not leave the primitive
//! broken: no lost notification, no stuck registration, no waiter that
//! counts without being registered.
use futures::task::noop_waker_ref;
use runtime_core::sync::{oneshot, Barrier, Notify};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

/// Records a wake.
struct Flag(AtomicBool);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// A waker whose last drop panics (unless already unwinding).
struct PanicOnDrop;
impl Wake for PanicOnDrop {
    fn wake(self: Arc<Self>) {}
}
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("waker drop panics");
        }
    }
}

static BAD_CLONE: RawWakerVTable =
    RawWakerVTable::new(|_| panic!("waker clone panics"), |_| {}, |_| {}, |_| {});

/// A waker whose `clone` panics.
fn bad_clone_waker() -> Waker {
    // SAFETY: the vtable's functions never read the data pointer, and the
    // ones that return do nothing.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &BAD_CLONE)) }
}

#[test]
fn notify_keeps_a_notified_registered_when_its_old_waker_panics_on_drop() {
    let notify = Notify::new();
    let mut a = Box::pin(notify.notified());
    {
        let w = Waker::from(Arc::new(PanicOnDrop));
        assert!(a.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    }
    // Re-registering with another waker drops the first: it panics.
    assert!(catch_unwind(AssertUnwindSafe(|| poll(a.as_mut()))).is_err());
    // Still registered: it is the one `notify_one` picks.
    notify.notify_one();
    assert_eq!(poll(a.as_mut()), Poll::Ready(()));
    // And a dropped one gives its key back, so the next notification
    // reaches the next waiter.
    let mut b = Box::pin(notify.notified());
    {
        let w = Waker::from(Arc::new(PanicOnDrop));
        assert!(b.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    }
    assert!(catch_unwind(AssertUnwindSafe(|| poll(b.as_mut()))).is_err());
    drop(b);
    let mut c = Box::pin(notify.notified());
    assert!(poll(c.as_mut()).is_pending());
    notify.notify_one();
    assert_eq!(poll(c.as_mut()), Poll::Ready(()), "notify_one was lost");
}

#[test]
fn notify_registers_nothing_when_the_first_clone_panics() {
    let notify = Notify::new();
    let mut a = Box::pin(notify.notified());
    let bad = bad_clone_waker();
    let r = catch_unwind(AssertUnwindSafe(|| {
        a.as_mut().poll(&mut Context::from_waker(&bad))
    }));
    assert!(r.is_err());
    // Not notified, and not registered yet: polled properly it waits,
    // then takes the next notification.
    assert!(poll(a.as_mut()).is_pending());
    notify.notify_one();
    assert_eq!(poll(a.as_mut()), Poll::Ready(()));
}

#[test]
fn a_oneshot_receiver_is_woken_after_a_waker_clone_panicked() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let bad = bad_clone_waker();
    let r = catch_unwind(AssertUnwindSafe(|| {
        Pin::new(&mut rx).poll(&mut Context::from_waker(&bad))
    }));
    assert!(r.is_err());
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let good = Waker::from(flag.clone());
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&good))
        .is_pending());
    tx.send(1).unwrap();
    assert!(flag.0.load(SeqCst), "the receiver was never woken");
    assert_eq!(poll(Pin::new(&mut rx)), Poll::Ready(Ok(1)));
}

#[test]
fn a_barrier_arrival_does_not_count_when_the_waker_clone_panics() {
    let barrier = Barrier::new(2);
    let mut a = Box::pin(barrier.wait());
    let bad = bad_clone_waker();
    let r = catch_unwind(AssertUnwindSafe(|| {
        a.as_mut().poll(&mut Context::from_waker(&bad))
    }));
    assert!(r.is_err());
    // `a` did not arrive: one more arrival does not release the barrier.
    let mut b = Box::pin(barrier.wait());
    assert!(poll(b.as_mut()).is_pending());
    // `a`, polled properly, arrives second and leads.
    assert!(matches!(poll(a.as_mut()), Poll::Ready(r) if r.is_leader()));
    assert!(matches!(poll(b.as_mut()), Poll::Ready(r) if !r.is_leader()));
}

#[test]
fn a_barrier_waiter_stays_registered_when_its_old_waker_panics_on_drop() {
    let barrier = Barrier::new(2);
    let mut a = Box::pin(barrier.wait());
    {
        let w = Waker::from(Arc::new(PanicOnDrop));
        assert!(a.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    }
    assert!(catch_unwind(AssertUnwindSafe(|| poll(a.as_mut()))).is_err());
    let mut b = Box::pin(barrier.wait());
    assert!(matches!(poll(b.as_mut()), Poll::Ready(r) if r.is_leader()));
    assert!(matches!(poll(a.as_mut()), Poll::Ready(r) if !r.is_leader()));
}
