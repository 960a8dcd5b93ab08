//! The unbounded `mpsc` channel: sending never waits.
//!
//! The "semaphore" is a message counter with a closed bit
//! ([`chan::Unbounded`]); it exists so the receiver can tell, after
//! `close`, when no message can still arrive.
use super::chan::{self, Unbounded};
use super::error::{SendError, TryRecvError};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends values to the [`UnboundedReceiver`]; cheap to clone.
pub struct UnboundedSender<T> {
    chan: chan::Tx<T, Unbounded>,
}

/// An unbounded sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    chan: chan::WeakTx<T, Unbounded>,
}

/// Receives the values sent by every [`UnboundedSender`].
pub struct UnboundedReceiver<T> {
    chan: chan::Rx<T, Unbounded>,
}

/// Creates an unbounded channel. Memory grows with the backlog: prefer a
/// bounded [`channel`](super::channel) where the receiver can fall behind.
///
/// ```
/// use runtime_core::sync::mpsc;
/// futures::executor::block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     tx.send("hello").unwrap();
///     drop(tx);
///     assert_eq!(rx.recv().await, Some("hello"));
///     assert_eq!(rx.recv().await, None);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = chan::channel(Unbounded::new());
    (UnboundedSender { chan: tx }, UnboundedReceiver { chan: rx })
}

impl<T> UnboundedSender<T> {
    /// Sends `value` without waiting; fails (returning it) if the receiver
    /// is closed or dropped.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if !self.chan.chan.semaphore.try_add_message() {
            return Err(SendError(value));
        }
        self.chan.send(value);
        Ok(())
    }

    /// Completes once the receiver is closed or dropped.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether the receiver is closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A [`WeakUnboundedSender`], which does not count as a sender for
    /// closing purposes.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            chan: self.chan.downgrade(),
        }
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An `UnboundedSender` again, or `None` if every sender was dropped.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().map(|chan| UnboundedSender { chan })
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next value; `None` once every sender is gone (or the
    /// receiver was closed) and the buffer is drained.
    ///
    /// # Cancel safety
    /// Cancel safe: a value leaves the channel only in the poll that returns
    /// it.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` values into `buffer`, waiting for the first.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`UnboundedReceiver::recv`].
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
    }

    /// Takes a value if one is buffered now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Blocking [`UnboundedReceiver::recv`] for threads not running tasks.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::sync::park::block_on(self.recv())
    }

    /// Closes the channel for sending; buffered values can still be received.
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Whether the channel is closed (receiver closed or all senders gone).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// How many messages are buffered.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Polls for the next value.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }
}

impl<T> futures_core::Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver").finish_non_exhaustive()
    }
}
