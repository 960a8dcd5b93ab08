//! A multi-producer, multi-consumer broadcast channel: every receiver sees
//! every value sent after it subscribed, unless it falls too far behind.
//!
//! ## Design
//!
//! A ring of `cap` slots (`cap` rounded up to a power of two), each behind
//! its own `RwLock` and stamped with the absolute position `pos` it holds.
//! One `tail` mutex guards `{ pos, rx_cnt, closed, waiters }`; senders write
//! the slot at `pos & mask` while holding it, then wake all waiters.
//!
//! Each receiver keeps `next`, the position it reads next. Reading slot
//! `next & mask`:
//! - stamp == `next`: clone the value; the slot's `rem` counter (receivers
//!   still to read it) is decremented, and the last reader drops the value.
//! - stamp == `next - cap` (the previous lap): nothing new yet.
//! - otherwise the slot was overwritten: the receiver *lagged*. It jumps to
//!   the oldest retained position `tail.pos - cap` and reports
//!   `Lagged(skipped)`; the next `recv` continues from there.
//!
//! Initial stamps are `i - cap` (wrapping) so an unwritten slot reads as
//! "previous lap". A dropped receiver walks its unread positions to release
//! its share of each slot's `rem`.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::Mutex;
use crate::loom::sync::RwLock;
use crate::sync::wait_list::{WaitList, WaiterKey, WakeList};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Errors of the broadcast channel.
pub mod error {
    use std::fmt;

    /// No receiver exists; the value comes back.
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

    /// Why `recv` returned no value.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub enum RecvError {
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind and this many values were overwritten
        /// before it read them; the next receive returns the oldest value
        /// still retained.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why `try_recv` returned no value.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub enum TryRecvError {
        /// Nothing new yet.
        Empty,
        /// Every sender is gone and every value was received.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Slot<T> {
    rem: AtomicUsize,
    pos: u64,
    val: Option<T>,
}

struct Tail {
    pos: u64,
    rx_cnt: usize,
    closed: bool,
    waiters: WaitList<()>,
}

struct Shared<T> {
    buffer: Box<[RwLock<Slot<T>>]>,
    mask: usize,
    tail: Mutex<Tail>,
    num_tx: AtomicUsize,
}

/// Sends values to every receiver; cloneable.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    next: u64,
}

/// Creates a broadcast channel retaining up to `capacity` values (rounded
/// up to a power of two).
///
/// ```
/// use runtime_core::sync::broadcast;
/// futures::executor::block_on(async {
///     let (tx, mut rx1) = broadcast::channel(16);
///     let mut rx2 = tx.subscribe();
///     assert_eq!(tx.send(10).unwrap(), 2); // two receivers
///     assert_eq!(rx1.recv().await, Ok(10));
///     assert_eq!(rx2.recv().await, Ok(10));
/// });
/// ```
///
/// # Panics
/// If `capacity` is 0 or larger than `usize::MAX / 2`.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeded `usize::MAX / 2`"
    );
    let cap = capacity.next_power_of_two();
    let buffer = (0..cap)
        .map(|i| {
            RwLock::new(Slot {
                rem: AtomicUsize::new(0),
                pos: (i as u64).wrapping_sub(cap as u64),
                val: None,
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        buffer,
        mask: cap - 1,
        tail: Mutex::new(Tail {
            pos: 0,
            rx_cnt: 1,
            closed: false,
            waiters: WaitList::new(),
        }),
        num_tx: AtomicUsize::new(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, next: 0 },
    )
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver, overwriting the oldest
    /// value if the ring is full. Returns how many receivers will see it;
    /// fails (returning the value) if there are none.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut wakers = WakeList::new();
        let rx_cnt;
        {
            let mut tail = self.shared.tail.lock();
            if tail.rx_cnt == 0 {
                return Err(SendError(value));
            }
            rx_cnt = tail.rx_cnt;
            let pos = tail.pos;
            let idx = (pos as usize) & self.shared.mask;
            {
                let mut slot = self.shared.buffer[idx].write();
                slot.pos = pos;
                slot.rem.store(rx_cnt, Release);
                // An overwritten unread value is dropped here.
                slot.val = Some(value);
            }
            tail.pos = pos.wrapping_add(1);
            tail.waiters.drain_with(&mut wakers, |_| {});
        }
        wakers.wake_all();
        Ok(rx_cnt)
    }

    /// A new receiver that will see values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.tail.lock().rx_cnt
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut tail = shared.tail.lock();
    tail.rx_cnt = tail
        .rx_cnt
        .checked_add(1)
        .expect("broadcast receiver count overflowed");
    Receiver {
        shared: shared.clone(),
        next: tail.pos,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.num_tx.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.num_tx.fetch_sub(1, AcqRel) == 1 {
            let mut wakers = WakeList::new();
            {
                let mut tail = self.shared.tail.lock();
                tail.closed = true;
                tail.waiters.drain_with(&mut wakers, |_| {});
            }
            wakers.wake_all();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Reads the slot at `next` through `f` without waiting. `Empty` means
    /// nothing new *and* still open.
    fn recv_with<R>(&mut self, f: impl FnOnce(&T) -> R) -> Result<R, TryRecvError> {
        let shared = &*self.shared;
        let cap = shared.mask as u64 + 1;
        loop {
            let idx = (self.next as usize) & shared.mask;
            let slot = shared.buffer[idx].read();
            if slot.pos == self.next {
                let pos = slot.pos;
                let val = slot.val.as_ref().expect("unread slot holds a value");
                let r = f(val);
                self.next = self.next.wrapping_add(1);
                if slot.rem.fetch_sub(1, AcqRel) == 1 {
                    // Last reader of this value: drop it now, unless the slot
                    // was reused meanwhile.
                    drop(slot);
                    let mut slot = shared.buffer[idx].write();
                    if slot.pos == pos {
                        slot.val = None;
                    }
                }
                return Ok(r);
            }
            let prev_lap = slot.pos.wrapping_add(cap) == self.next;
            drop(slot);
            let tail = shared.tail.lock();
            if prev_lap {
                if tail.pos != self.next {
                    // A value landed after we looked; read it.
                    continue;
                }
                return Err(if tail.closed {
                    TryRecvError::Closed
                } else {
                    TryRecvError::Empty
                });
            }
            // Overwritten: skip to the oldest retained value.
            let oldest = tail.pos.wrapping_sub(cap);
            let missed = oldest.wrapping_sub(self.next);
            self.next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
    }

    /// How many values this receiver has yet to receive (including ones it
    /// already lagged past, which it will skip with `Lagged`).
    pub fn len(&self) -> usize {
        let tail = self.shared.tail.lock();
        tail.pos.wrapping_sub(self.next) as usize
    }

    /// Whether nothing new is waiting for this receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.tail.lock().closed
    }

    /// A new receiver (sharing nothing with this one) that sees values sent
    /// from now on.
    pub fn resubscribe(&self) -> Self {
        new_receiver(&self.shared)
    }

    /// Whether both receivers listen to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value.
    ///
    /// Returns `Err(Lagged(n))` if `n` values were overwritten before this
    /// receiver read them (it then continues from the oldest retained
    /// value), and `Err(Closed)` once every sender is gone and every value
    /// was received.
    ///
    /// # Cancel safety
    /// Cancel safe: a value is consumed only by the poll that returns it.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            key: None,
        }
    }

    /// Receives a value if one is ready.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.recv_with(T::clone)
    }

    /// Blocking [`Receiver::recv`] for threads not running async tasks.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        crate::sync::park::block_on(self.recv())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let until = {
            let mut tail = self.shared.tail.lock();
            tail.rx_cnt -= 1;
            tail.pos
        };
        // Release our share of every value we have not read.
        while self.next < until {
            match self.recv_with(|_| ()) {
                Ok(()) | Err(TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    key: Option<WaiterKey>,
}

impl<T> Recv<'_, T> {
    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            self.receiver.shared.tail.lock().waiters.remove(key);
        }
    }
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        loop {
            let res = match this.receiver.recv_with(T::clone) {
                Ok(v) => Ok(v),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Empty) => {
                    let shared = this.receiver.shared.clone();
                    let mut tail = shared.tail.lock();
                    if tail.pos != this.receiver.next || tail.closed {
                        continue;
                    }
                    match &this.key {
                        Some(key) if tail.waiters.is_linked(key) => {
                            tail.waiters.set_waker(key, cx.waker());
                        }
                        _ => {
                            if let Some(old) = this.key.take() {
                                tail.waiters.remove(old);
                            }
                            this.key = Some(tail.waiters.push_back(Some(cx.waker().clone()), ()));
                        }
                    }
                    return Poll::Pending;
                }
            };
            this.unregister();
            coop.made_progress();
            return Poll::Ready(res);
        }
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}
