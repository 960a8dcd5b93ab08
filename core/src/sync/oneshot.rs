//! A channel for sending exactly one value.
//!
//! ## Design
//!
//! `state` holds three bits, each set at most once:
//! - `VALUE_SENT`: the sender stored the value. Set by a CAS that refuses
//!   when `CLOSED` is already set, so a value is never published to a closed
//!   receiver (the sender gets it back instead).
//! - `CLOSED`: the receiver closed or was dropped.
//! - `TX_DROPPED`: the sender was dropped without sending.
//!
//! The value cell is written only by the sender before it publishes
//! `VALUE_SENT` and read only by the receiver after it observes `VALUE_SENT`
//! (acquire), so the two never access it concurrently. Each side parks in
//! its own `AtomicWaker`: the receiver in `rx_waker` (woken by send or
//! sender drop), the sender in `tx_waker` (woken by receiver close/drop,
//! for [`Sender::closed`]).
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::sync::atomic_waker::AtomicWaker;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

const VALUE_SENT: usize = 1;
const CLOSED: usize = 2;
const TX_DROPPED: usize = 4;

/// Errors of the oneshot channel.
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending (returned by awaiting the
    /// [`Receiver`](super::Receiver)).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why `try_recv` returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet, but the sender may still send one.
        Empty,
        /// No value will ever come: the sender is gone, the receiver was
        /// closed, or the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: AtomicWaker,
    tx_waker: AtomicWaker,
}

// SAFETY: the value moves from the sender's thread to the receiver's
// (`T: Send`); the cell is never accessed concurrently (module docs).
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Sends the value; consumed by [`Sender::send`].
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the value: `.await` it (a `Future`), or use
/// [`Receiver::try_recv`].
///
/// # Cancel safety
/// Awaiting it is cancel safe: the value is taken only by the poll that
/// returns it, so a `&mut Receiver` polled in `select!` can be awaited again.
pub struct Receiver<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Creates a oneshot channel.
///
/// ```
/// use runtime_core::sync::oneshot;
/// futures::executor::block_on(async {
///     let (tx, rx) = oneshot::channel();
///     std::thread::spawn(move || tx.send(3).unwrap());
///     assert_eq!(rx.await, Ok(3));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: AtomicWaker::new(),
        tx_waker: AtomicWaker::new(),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

impl<T> Sender<T> {
    /// Sends the value; fails, returning it, if the receiver was closed or
    /// dropped. Never waits.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("sender used once");
        // SAFETY: VALUE_SENT is not set yet, so the receiver does not touch
        // the cell; we are the only sender.
        inner.value.with_mut(|p| unsafe { *p = Some(value) });
        let mut cur = inner.state.load(Acquire);
        loop {
            if cur & CLOSED != 0 {
                // Never published: take the value back.
                // SAFETY: as above, VALUE_SENT was never set.
                let v = inner.value.with_mut(|p| unsafe { (*p).take() });
                return Err(v.expect("value just stored"));
            }
            match inner
                .state
                .compare_exchange_weak(cur, cur | VALUE_SENT, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        inner.rx_waker.wake();
        Ok(())
    }

    /// Whether the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        let inner = self.inner.as_ref().expect("sender used");
        inner.state.load(Acquire) & CLOSED != 0
    }

    /// Polls for the receiver being closed or dropped.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let inner = self.inner.as_ref().expect("sender used");
        if inner.state.load(Acquire) & CLOSED != 0 {
            return Poll::Ready(());
        }
        inner.tx_waker.register(cx.waker());
        if inner.state.load(Acquire) & CLOSED != 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Completes once the receiver is closed or dropped (useful to stop
    /// computing a value nobody will read).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.state.fetch_or(TX_DROPPED, AcqRel);
            inner.rx_waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Prevents the sender from sending from now on. A value sent before
    /// the close can still be received.
    pub fn close(&mut self) {
        if let Some(inner) = &self.inner {
            let prev = inner.state.fetch_or(CLOSED, AcqRel);
            if prev & (VALUE_SENT | CLOSED) == 0 {
                inner.tx_waker.wake();
            }
        }
    }

    /// Whether no value can arrive any more (sent and taken, sender gone,
    /// or closed without a value).
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether a value is waiting to be taken.
    pub fn is_empty(&self) -> bool {
        match &self.inner {
            Some(inner) => inner.state.load(Acquire) & VALUE_SENT == 0,
            None => true,
        }
    }

    /// Takes the value if it was sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.state.load(Acquire);
        if state & VALUE_SENT != 0 {
            // SAFETY: VALUE_SENT (acquired) means the sender is done with the
            // cell; we take the value once and then drop our handle.
            let v = inner.value.with_mut(|p| unsafe { (*p).take() });
            self.inner = None;
            return v.ok_or(TryRecvError::Closed);
        }
        if state & (TX_DROPPED | CLOSED) != 0 {
            self.inner = None;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Blocking receive for threads not running async tasks.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        crate::sync::park::block_on(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            this.inner.is_some(),
            "oneshot::Receiver polled after completion"
        );
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        for attempt in 0..2 {
            match this.try_recv() {
                Ok(v) => {
                    coop.made_progress();
                    return Poll::Ready(Ok(v));
                }
                Err(TryRecvError::Closed) => {
                    coop.made_progress();
                    return Poll::Ready(Err(RecvError(())));
                }
                Err(TryRecvError::Empty) if attempt == 0 => {
                    if let Some(inner) = &this.inner {
                        inner.rx_waker.register(cx.waker());
                    }
                }
                Err(TryRecvError::Empty) => {}
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn value_crosses_threads_and_drops_once() {
        let marker = Arc::new(());
        for _ in 0..if cfg!(miri) { 5 } else { 100 } {
            let (tx, rx) = channel();
            let m = marker.clone();
            let h = std::thread::spawn(move || tx.send(m).is_ok());
            let got = crate::sync::park::block_on(rx);
            assert!(h.join().unwrap());
            drop(got.unwrap());
        }
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn close_race_returns_value_to_sender() {
        let marker = Arc::new(());
        for _ in 0..if cfg!(miri) { 5 } else { 100 } {
            let (tx, mut rx) = channel();
            let m = marker.clone();
            let h = std::thread::spawn(move || tx.send(m));
            rx.close();
            let sent = h.join().unwrap();
            let received = rx.try_recv();
            // Exactly one side ends up with the value.
            assert_ne!(sent.is_ok(), received.is_err());
        }
        assert_eq!(Arc::strong_count(&marker), 1);
    }
}
