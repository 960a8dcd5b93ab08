//! `Notify`: wake one task or all tasks, with a single stored permit.
//!
//! Semantics (Tokio's):
//! - [`Notify::notify_one`] wakes the oldest registered waiter; if none is
//!   registered it stores one permit (at most one), which the next
//!   `notified().await` consumes immediately.
//! - [`Notify::notify_waiters`] wakes every waiter registered *and* every
//!   [`Notified`] future *created* before the call (even if not yet polled),
//!   and stores no permit.
//! - A `Notified` that was chosen by `notify_one` but dropped before it
//!   completed passes its notification on to the next waiter (or back into
//!   the permit), so none is lost.
//!
//! ## Design
//!
//! One lock guards `Inner { permit, waiters }`. `calls` counts
//! `notify_waiters` invocations; it is written under the lock but read
//! without it when a `Notified` is created, so a future created before a
//! `notify_waiters` call sees a different count when first polled and
//! completes. A waiter's node records *how* it was notified (`One` or
//! `All`), which decides whether dropping it must forward the notification.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;
use crate::sync::wait_list::{WaitList, WaiterKey, WakeList};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Notifies tasks waiting on it; see the module docs for the semantics.
///
/// ```
/// use runtime_core::sync::Notify;
/// futures::executor::block_on(async {
///     let notify = Notify::new();
///     notify.notify_one(); // stores a permit
///     notify.notified().await; // consumes it at once
/// });
/// ```
#[derive(Debug)]
pub struct Notify {
    calls: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    permit: bool,
    waiters: WaitList<Option<Notification>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notification {
    One,
    All,
}

/// Future returned by [`Notify::notified`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Not registered yet; remembers `notify_waiters` calls at creation.
    Init(usize),
    /// Registered in the wait list.
    Waiting(WaiterKey),
    Done,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Self {
        Notify {
            calls: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                permit: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// As [`Notify::new`], usable to initialise a `static`.
    #[cfg(not(loom))]
    pub const fn const_new() -> Self {
        Notify {
            calls: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                permit: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Returns a future that completes when notified. See [`Notify`].
    ///
    /// # Cancel safety
    /// Cancel safe: dropping a `Notified` removes its waiter; if it had been
    /// picked by `notify_one`, the notification passes to the next waiter (or
    /// becomes the stored permit).
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            state: State::Init(self.calls.load(SeqCst)),
        }
    }

    /// Wakes the oldest waiter, or stores a permit if nobody waits.
    pub fn notify_one(&self) {
        let waker = {
            let mut inner = self.inner.lock();
            inner.notify_one_locked()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every current waiter (and every `Notified` created before this
    /// call); stores no permit.
    pub fn notify_waiters(&self) {
        let mut wakers = WakeList::new();
        {
            let mut inner = self.inner.lock();
            self.calls.fetch_add(1, SeqCst);
            inner
                .waiters
                .drain_with(&mut wakers, |n| *n = Some(Notification::All));
        }
        wakers.wake_all();
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl Inner {
    #[must_use]
    fn notify_one_locked(&mut self) -> Option<Waker> {
        match self
            .waiters
            .pop_front_with(|n| *n = Some(Notification::One))
        {
            Some(w) => w,
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Notified<'_> {
    /// Registers this future as a waiter without polling it, so that a later
    /// `notify_one` picks it rather than storing a permit. Returns `true` if
    /// it has already been notified (a poll would complete at once).
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.poll_inner(None).is_ready()
    }

    /// Foreign code (a waker's `clone` or `drop`) runs only while `state`
    /// still tells the truth: a panic in it leaves this future either
    /// unregistered (`Init`) or registered under its key (`Waiting`), so
    /// its drop still gives the key back and forwards a notification.
    fn poll_inner(self: Pin<&mut Self>, waker: Option<&Waker>) -> Poll<()> {
        let this = self.get_mut();
        let notify = this.notify;
        match &this.state {
            State::Done => Poll::Ready(()),
            State::Init(calls) => {
                let calls = *calls;
                // Cloned before locking: a clone that panics leaves nothing
                // registered and no lock held.
                let waker = waker.cloned();
                let mut inner = notify.inner.lock();
                if notify.calls.load(SeqCst) != calls {
                    drop(inner);
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                if inner.permit {
                    inner.permit = false;
                    drop(inner);
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                let key = inner.waiters.push_back(waker, None);
                this.state = State::Waiting(key);
                Poll::Pending
            }
            State::Waiting(key) => {
                let mut inner = notify.inner.lock();
                if inner.waiters.is_linked(key) {
                    // The replaced waker is dropped after unlocking.
                    let old = waker.and_then(|w| inner.waiters.replace_waker(key, w));
                    drop(inner);
                    drop(old);
                    return Poll::Pending;
                }
                let State::Waiting(key) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!("matched Waiting above")
                };
                let (old, _) = inner.waiters.remove_with_waker(key);
                drop(inner);
                drop(old);
                Poll::Ready(())
            }
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_inner(Some(cx.waker()))
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let State::Waiting(key) = std::mem::replace(&mut self.state, State::Done) {
            let (own, forward) = {
                let mut inner = self.notify.inner.lock();
                let (own, notification) = inner.waiters.remove_with_waker(key);
                let forward = match notification {
                    // Picked by `notify_one` but never completed: forward it.
                    Some(Notification::One) => inner.notify_one_locked(),
                    _ => None,
                };
                (own, forward)
            };
            // Foreign code last, after the forward is decided and unlocked.
            if let Some(w) = forward {
                w.wake();
            }
            drop(own);
        }
    }
}
