//! A single-value channel: receivers see the latest value, intermediate
//! values are coalesced.
//!
//! ## Design
//!
//! The value sits in an `RwLock`. `state` = `version << 1 | CLOSED`; every
//! send bumps the version by 2 *while holding the write lock*, so a reader
//! holding the read lock loads the version that matches the value it sees.
//! Each receiver remembers the version it last saw; `changed()` completes
//! when the shared version differs. Waiting receivers park on `notify_rx`
//! (woken with `notify_waiters` on every send and on close); the sender's
//! `closed()` parks on `notify_tx` (woken when the last receiver drops).
//! Coalescing falls out: a receiver that was slow sees only the newest value.
//!
//! `CLOSED` is set when the last sender is dropped.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::{RwLock, RwLockReadGuard};
use crate::sync::notify::Notify;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

const CLOSED: usize = 1;
const STEP: usize = 2;

/// Errors of the watch channel.
pub mod error {
    use std::fmt;

    /// Every receiver is gone; the value comes back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Every sender is gone (and, for `changed`, no unseen value remains).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RwLock<T>,
    state: AtomicUsize,
    rx_count: AtomicUsize,
    tx_count: AtomicUsize,
    notify_rx: Notify,
    notify_tx: Notify,
}

/// Publishes values; cloneable.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Observes the latest value; cloneable (a clone starts with the same
/// "seen" version).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    version: usize,
}

/// A read borrow of the current value. Holds a read lock: keep it short and
/// never across an `.await`, or senders block.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was unseen by the receiver when borrowed.
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Creates a watch channel holding `init`.
///
/// ```
/// use runtime_core::sync::watch;
/// futures::executor::block_on(async {
///     let (tx, mut rx) = watch::channel("a");
///     tx.send("b").unwrap();
///     tx.send("c").unwrap(); // coalesced with "b"
///     rx.changed().await.unwrap();
///     assert_eq!(*rx.borrow_and_update(), "c");
///     assert!(!rx.has_changed().unwrap());
/// });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        rx_count: AtomicUsize::new(1),
        tx_count: AtomicUsize::new(1),
        notify_rx: Notify::new(),
        notify_tx: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, version: 0 },
    )
}

impl<T> Sender<T> {
    /// A sender with no receiver yet (use [`Sender::subscribe`]).
    pub fn new(init: T) -> Self {
        let (tx, rx) = channel(init);
        drop(rx);
        tx
    }

    /// Publishes `value`; fails (returning it, value unchanged) when no
    /// receiver exists.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.rx_count.load(Acquire) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Publishes `value` even without receivers; returns the old value.
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|v| std::mem::swap(v, &mut value));
        value
    }

    /// Modifies the value in place and notifies receivers.
    pub fn send_modify(&self, f: impl FnOnce(&mut T)) {
        self.send_if_modified(|v| {
            f(v);
            true
        });
    }

    /// Modifies the value in place; notifies receivers only if `f` returns
    /// `true`. Returns what `f` returned.
    pub fn send_if_modified(&self, f: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut guard = self.shared.value.write();
            if !f(&mut guard) {
                return false;
            }
            self.shared.state.fetch_add(STEP, Release);
        }
        self.shared.notify_rx.notify_waiters();
        true
    }

    /// Borrows the current value (the returned `has_changed` is `false`).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read(),
            has_changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.fetch_add(1, Relaxed);
        let version = self.shared.state.load(Acquire) & !CLOSED;
        Receiver {
            shared: self.shared.clone(),
            version,
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.load(Acquire)
    }

    /// How many senders exist.
    pub fn sender_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes once every receiver is gone.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.notify_tx.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.state.fetch_or(CLOSED, Release);
            self.shared.notify_rx.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &*self.borrow())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        let version = self.shared.state.load(Acquire) & !CLOSED;
        Ref {
            guard,
            has_changed: version != self.version,
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        // Versions only change under the write lock, so this matches `guard`.
        let version = self.shared.state.load(Acquire) & !CLOSED;
        let has_changed = version != self.version;
        self.version = version;
        Ref { guard, has_changed }
    }

    /// Whether a value unseen by this receiver is available; `Err` once
    /// every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state.load(Acquire);
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state & !CLOSED != self.version)
    }

    /// Marks the current value as unseen.
    pub fn mark_changed(&mut self) {
        self.version = self.version.wrapping_sub(STEP);
    }

    /// Marks the current value as seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state.load(Acquire) & !CLOSED;
    }

    /// Waits for a value this receiver has not seen and marks it seen.
    /// Fails once every sender is gone and no unseen value remains.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is marked seen unless it returns `Ok`.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        std::future::poll_fn(|cx| crate::task::coop::poll_proceed(cx).map(|c| c.made_progress()))
            .await;
        loop {
            let notified = self.shared.notify_rx.notified();
            let state = self.shared.state.load(Acquire);
            let version = state & !CLOSED;
            if version != self.version {
                self.version = version;
                return Ok(());
            }
            if state & CLOSED != 0 {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    /// Waits until the value satisfies `f` (checking the current value
    /// first), marks it seen and returns a borrow of it. Fails if every
    /// sender is gone and the last value does not satisfy `f`.
    ///
    /// # Cancel safety
    /// Cancel safe; a cancelled call may have marked a non-matching value
    /// as seen, but never loses a matching one.
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let shared = &*self.shared;
        let seen = &mut self.version;
        loop {
            let notified = shared.notify_rx.notified();
            {
                let guard = shared.value.read();
                let state = shared.state.load(Acquire);
                let version = state & !CLOSED;
                let has_changed = version != *seen;
                *seen = version;
                if f(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
                if state & CLOSED != 0 {
                    return Err(RecvError(()));
                }
            }
            notified.await;
        }
    }

    /// Whether both receivers watch the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.fetch_add(1, Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.rx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.notify_tx.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &*self.borrow())
            .finish()
    }
}
