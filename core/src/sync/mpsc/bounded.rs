//! The bounded `mpsc` channel: senders wait while `cap` messages are buffered.
//!
//! Each buffered message holds one permit of the channel's fair semaphore,
//! from the moment a sender acquires it (`send`/`reserve`) until the receiver
//! pops the message, so senders waiting for capacity are served FIFO.
use super::chan::{self, Bounded};
use super::error::{SendError, TryRecvError, TrySendError};
use crate::sync::batch_semaphore::{self, TryAcquireError};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends values to the [`Receiver`]; cheap to clone.
pub struct Sender<T> {
    chan: chan::Tx<T, Bounded>,
}

/// A sender that does not keep the channel open: [`WeakSender::upgrade`]
/// gives a [`Sender`] back while at least one other sender exists.
pub struct WeakSender<T> {
    chan: chan::WeakTx<T, Bounded>,
}

/// Receives the values sent by every [`Sender`].
pub struct Receiver<T> {
    chan: chan::Rx<T, Bounded>,
}

/// One reserved buffer slot: [`Permit::send`] cannot fail or wait.
#[must_use = "dropping a permit gives its slot back"]
pub struct Permit<'a, T> {
    chan: &'a chan::Tx<T, Bounded>,
}

/// A reserved slot that owns its [`Sender`] (from [`Sender::reserve_owned`]).
#[must_use = "dropping a permit gives its slot back"]
pub struct OwnedPermit<T> {
    chan: Option<chan::Tx<T, Bounded>>,
}

/// Creates a bounded channel buffering up to `buffer` messages.
///
/// ```
/// use runtime_core::sync::mpsc;
/// futures::executor::block_on(async {
///     let (tx, mut rx) = mpsc::channel(2);
///     tx.send(1).await.unwrap();
///     tx.send(2).await.unwrap();
///     assert!(tx.try_send(3).is_err()); // full
///     assert_eq!(rx.recv().await, Some(1));
///     drop(tx);
///     assert_eq!(rx.recv().await, Some(2));
///     assert_eq!(rx.recv().await, None); // all senders gone, drained
/// });
/// ```
///
/// # Panics
/// If `buffer` is 0 or above the semaphore's maximum.
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    let sem = Bounded {
        sem: batch_semaphore::Semaphore::new(buffer),
        bound: buffer,
    };
    let (tx, rx) = chan::channel(sem);
    (Sender { chan: tx }, Receiver { chan: rx })
}

impl<T> Sender<T> {
    fn sem(&self) -> &batch_semaphore::Semaphore {
        &self.chan.chan.semaphore.sem
    }

    /// Sends `value`, waiting for buffer space if the channel is full.
    /// Fails (returning the value) if the receiver is closed or dropped.
    ///
    /// # Cancel safety
    /// Cancel safe in the sense that dropping the future never loses a slot
    /// or reorders other senders; the value is lost with the future if it
    /// had not been sent yet. Use [`Sender::reserve`] to wait for capacity
    /// without handing over the value.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.reserve().await {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Sends without waiting: fails with `Full` when no slot is free.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.sem().try_acquire(1) {
            Ok(()) => {
                self.chan.send(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Blocking [`Sender::send`] for threads not running async tasks.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::park::block_on(self.send(value))
    }

    /// Waits for a free slot and reserves it.
    ///
    /// # Cancel safety
    /// Cancel safe: a dropped `reserve` leaves the FIFO of waiting senders,
    /// and a slot already assigned to it goes to the next sender.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match acquire_slot(&self.chan).await {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(_) => Err(SendError(())),
        }
    }

    /// As [`Sender::reserve`], consuming a `Sender` into an owned permit.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Sender::reserve`].
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        match acquire_slot(&self.chan).await {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(_) => Err(SendError(())),
        }
    }

    /// Reserves a slot if one is free now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.sem().try_acquire(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// As [`Sender::try_reserve`], consuming the sender.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.sem().try_acquire(1) {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.chan),
            }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
        }
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

    /// Free buffer slots right now.
    pub fn capacity(&self) -> usize {
        self.sem().available_permits()
    }

    /// The buffer size the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.chan.semaphore.bound
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// A [`WeakSender`] for this channel, which does not count as a sender
    /// for closing purposes.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.downgrade(),
        }
    }
}

impl<T> WeakSender<T> {
    /// A `Sender` again, or `None` if every sender was already dropped.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().map(|chan| Sender { chan })
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// Gives an unused slot back; wakes the receiver if it may now see the end.
fn release_permit<T>(chan: &chan::Tx<T, Bounded>) {
    chan.chan.semaphore.sem.release(1);
    wake_rx_if_done(chan);
}

/// After a slot went back: a closed receiver waiting for the last slot
/// to come home (its end of the stream) is woken.
fn wake_rx_if_done<T>(chan: &chan::Tx<T, Bounded>) {
    let s = &chan.chan.semaphore;
    if s.sem.is_closed() && s.sem.available_permits() == s.bound {
        chan.wake_rx();
    }
}

/// Waits for one slot. Dropped while waiting, the semaphore's `Acquire`
/// gives back a slot already handed to it (a receiver's pop passes its
/// slot straight to the first waiting sender); the guard, dropped after
/// the `Acquire` (locals drop in reverse order), then wakes a closed
/// receiver for which that was the last slot out, as a dropped unused
/// [`Permit`] does.
async fn acquire_slot<T>(chan: &chan::Tx<T, Bounded>) -> Result<(), batch_semaphore::AcquireError> {
    struct WakeIfDone<'a, T> {
        chan: &'a chan::Tx<T, Bounded>,
        armed: bool,
    }
    impl<T> Drop for WakeIfDone<'_, T> {
        fn drop(&mut self) {
            if self.armed {
                wake_rx_if_done(self.chan);
            }
        }
    }
    let mut guard = WakeIfDone { chan, armed: true };
    let acquired = chan.chan.semaphore.sem.acquire(1).await;
    guard.armed = false;
    acquired
}

impl<T> Permit<'_, T> {
    /// Sends into the reserved slot; never waits or fails (if the receiver
    /// is gone, the value is dropped with the channel).
    pub fn send(self, value: T) {
        self.chan.send(value);
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        release_permit(self.chan);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl<T> OwnedPermit<T> {
    /// Sends into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let chan = self.chan.take().expect("permit used once");
        chan.send(value);
        Sender { chan }
    }

    /// Gives the slot back unused and returns the sender.
    pub fn release(mut self) -> Sender<T> {
        let chan = self.chan.take().expect("permit used once");
        release_permit(&chan);
        Sender { chan }
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            release_permit(&chan);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Receives the next value; `None` once every sender is gone (or the
    /// receiver was closed) and the buffer is drained.
    ///
    /// # Cancel safety
    /// Cancel safe: a value is only taken out of the channel in the poll
    /// that returns it, so dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` values into `buffer`, waiting for the first;
    /// returns how many were added (0 only when the channel is finished or
    /// `limit` is 0).
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Receiver::recv`].
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
    }

    /// Takes a value if one is buffered now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Blocking [`Receiver::recv`] for threads not running async tasks.
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

    /// Free buffer slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.chan().semaphore.sem.available_permits()
    }

    /// The buffer size the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.chan().semaphore.bound
    }

    /// How many messages are buffered.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Polls for the next value (the `Stream`-style entry point).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
