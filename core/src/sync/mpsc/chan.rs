//! The channel core shared by the bounded and unbounded `mpsc` flavours.
//!
//! `Chan` = the lock-free [`List`] queue + the receiver's [`AtomicWaker`] +
//! a *capacity semaphore* `S` (the only thing the flavours differ in):
//! - bounded: the fair batch semaphore with `cap` permits; a sender holds
//!   one permit per message from `send`/`reserve` until the receiver pops
//!   that message, so `send().await` waits while the buffer is full.
//! - unbounded: a counter of messages in flight (never waits).
//!
//! ## Closing protocol
//! - *Senders gone*: the last `Tx` dropped sets `tx_closed` (release) and
//!   wakes the receiver. Every push happened-before that store, so once the
//!   receiver has seen `tx_closed` (acquire), a pop that finds the queue
//!   empty proves the channel is drained: `recv` returns `None`.
//! - *Receiver closed/dropped*: closes the semaphore, so new sends fail, and
//!   notifies `Sender::closed()` waiters. The receiver keeps draining
//!   buffered messages and returns `None` once the queue is empty *and* the
//!   semaphore is idle (no permit is out, so no message can still arrive).
//!   A permit dropped unused after close wakes the receiver for that check.
//! - On receiver drop the buffer is drained (values dropped, permits given
//!   back); values still in the queue when the last handle goes are dropped
//!   by the `List`'s destructor.
use super::error::TryRecvError;
use super::list::{List, Pop};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::sync::atomic_waker::AtomicWaker;
use crate::sync::notify::Notify;
use std::fmt;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// What a channel flavour uses to account for buffered messages.
pub(crate) trait Semaphore: Send + Sync {
    /// No permit is out: the buffer is empty and nothing is being sent.
    fn is_idle(&self) -> bool;
    /// The receiver consumed `n` messages.
    fn add_permits(&self, n: usize);
    /// The receiver closed: sends fail from now on.
    fn close(&self);
    fn is_closed(&self) -> bool;
}

pub(crate) struct Chan<T, S> {
    list: List<T>,
    rx_waker: AtomicWaker,
    pub(crate) semaphore: S,
    tx_count: AtomicUsize,
    tx_closed: AtomicBool,
    notify_rx_closed: Notify,
}

/// A sending handle: counts towards `tx_count`.
pub(crate) struct Tx<T, S> {
    pub(crate) chan: Arc<Chan<T, S>>,
}

/// A handle that does not keep the channel open; see `WeakTx::upgrade`.
pub(crate) struct WeakTx<T, S> {
    chan: Arc<Chan<T, S>>,
}

/// The unique receiving handle: the only caller of `List::pop`.
pub(crate) struct Rx<T, S: Semaphore> {
    chan: Arc<Chan<T, S>>,
}

enum Step<T> {
    Value(T),
    Closed,
    Empty,
}

pub(crate) fn channel<T, S: Semaphore>(semaphore: S) -> (Tx<T, S>, Rx<T, S>) {
    let chan = Arc::new(Chan {
        list: List::new(),
        rx_waker: AtomicWaker::new(),
        semaphore,
        tx_count: AtomicUsize::new(1),
        tx_closed: AtomicBool::new(false),
        notify_rx_closed: Notify::new(),
    });
    (Tx { chan: chan.clone() }, Rx { chan })
}

impl<T, S: Semaphore> Tx<T, S> {
    /// Pushes a message the caller holds a permit for, and wakes the receiver.
    pub(crate) fn send(&self, value: T) {
        self.chan.list.push(value);
        self.chan.rx_waker.wake();
    }

    /// Wakes the receiver (e.g. a permit was given back after close).
    pub(crate) fn wake_rx(&self) {
        self.chan.rx_waker.wake();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.chan.semaphore.is_closed()
    }

    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.chan.notify_rx_closed.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    pub(crate) fn downgrade(&self) -> WeakTx<T, S> {
        WeakTx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S> WeakTx<T, S> {
    /// A sending handle again, unless every sender is already gone (then
    /// the channel is closed for good).
    pub(crate) fn upgrade(&self) -> Option<Tx<T, S>> {
        let mut cur = self.chan.tx_count.load(Relaxed);
        loop {
            if cur == 0 {
                return None;
            }
            match self
                .chan
                .tx_count
                .compare_exchange_weak(cur, cur + 1, AcqRel, Relaxed)
            {
                Ok(_) => {
                    return Some(Tx {
                        chan: self.chan.clone(),
                    })
                }
                Err(actual) => cur = actual,
            }
        }
    }
}

impl<T, S> Clone for WeakTx<T, S> {
    fn clone(&self) -> Self {
        WeakTx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S> Clone for Tx<T, S> {
    fn clone(&self) -> Self {
        self.chan.tx_count.fetch_add(1, Relaxed);
        Tx {
            chan: self.chan.clone(),
        }
    }
}

impl<T, S> Drop for Tx<T, S> {
    fn drop(&mut self) {
        if self.chan.tx_count.fetch_sub(1, AcqRel) == 1 {
            self.chan.tx_closed.store(true, Release);
            self.chan.rx_waker.wake();
        }
    }
}

impl<T, S: Semaphore> Rx<T, S> {
    /// Closes the receiving half without dropping buffered messages.
    pub(crate) fn close(&mut self) {
        if !self.chan.semaphore.is_closed() {
            self.chan.semaphore.close();
            self.chan.notify_rx_closed.notify_waiters();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.chan.semaphore.is_closed() || self.chan.tx_closed.load(Acquire)
    }

    fn pop(&mut self) -> Option<Pop<T>> {
        // SAFETY: `Rx` is unique per channel (not `Clone`) and `&mut self`
        // serialises its calls, so this is the single consumer.
        match unsafe { self.chan.list.pop() } {
            Pop::Value(v) => {
                self.chan.semaphore.add_permits(1);
                Some(Pop::Value(v))
            }
            other => Some(other),
        }
    }

    /// One non-waiting attempt. `Busy` counts as empty: its producer wakes
    /// us after finishing the write.
    fn step(&mut self, spin_on_busy: bool) -> Step<T> {
        let mut spins = 0;
        loop {
            match self.pop() {
                Some(Pop::Value(v)) => return Step::Value(v),
                Some(Pop::Busy) if spin_on_busy => {
                    spins += 1;
                    if spins < 16 {
                        crate::loom::hint::spin_loop();
                    } else {
                        crate::loom::thread::yield_now();
                    }
                    continue;
                }
                Some(Pop::Busy) => return Step::Empty,
                _ => {}
            }
            if self.chan.tx_closed.load(Acquire) {
                // Every push happened-before `tx_closed`; look once more.
                return match self.pop() {
                    Some(Pop::Value(v)) => Step::Value(v),
                    _ => Step::Closed,
                };
            }
            if self.chan.semaphore.is_closed() && self.chan.semaphore.is_idle() {
                return Step::Closed;
            }
            return Step::Empty;
        }
    }

    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        for attempt in 0..2 {
            match self.step(false) {
                Step::Value(v) => {
                    coop.made_progress();
                    return Poll::Ready(Some(v));
                }
                Step::Closed => {
                    coop.made_progress();
                    return Poll::Ready(None);
                }
                Step::Empty if attempt == 0 => self.chan.rx_waker.register(cx.waker()),
                Step::Empty => {}
            }
        }
        Poll::Pending
    }

    /// Like `poll_recv`, then takes up to `limit - 1` more ready messages.
    pub(crate) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        match ready!(self.poll_recv(cx)) {
            None => Poll::Ready(0),
            Some(v) => {
                buffer.push(v);
                let mut n = 1;
                while n < limit {
                    match self.step(false) {
                        Step::Value(v) => {
                            buffer.push(v);
                            n += 1;
                        }
                        _ => break,
                    }
                }
                Poll::Ready(n)
            }
        }
    }

    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.step(true) {
            Step::Value(v) => Ok(v),
            Step::Closed => Err(TryRecvError::Disconnected),
            Step::Empty => Err(TryRecvError::Empty),
        }
    }

    /// Buffered messages.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: `pop` needs `&mut Rx`; holding `&self` excludes it.
        unsafe { self.chan.list.len() }
    }

    pub(crate) fn chan(&self) -> &Chan<T, S> {
        &self.chan
    }
}

impl<T, S: Semaphore> Drop for Rx<T, S> {
    fn drop(&mut self) {
        self.close();
        // Drop what is buffered now and give the permits back.
        while let Some(Pop::Value(v)) = self.pop() {
            drop(v);
        }
    }
}

impl<T, S> fmt::Debug for Tx<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl<T, S: Semaphore> fmt::Debug for Rx<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rx").finish_non_exhaustive()
    }
}

/// Semaphore of the unbounded flavour: `messages << 1 | CLOSED`.
#[derive(Debug)]
pub(crate) struct Unbounded(AtomicUsize);

impl Unbounded {
    pub(crate) fn new() -> Self {
        Unbounded(AtomicUsize::new(0))
    }

    /// Counts one more message unless closed.
    #[must_use]
    pub(crate) fn try_add_message(&self) -> bool {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & 1 == 1 {
                return false;
            }
            if cur == usize::MAX - 1 {
                // More messages than memory could hold: corrupted state.
                std::process::abort();
            }
            match self.0.compare_exchange_weak(cur, cur + 2, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

impl Semaphore for Unbounded {
    fn is_idle(&self) -> bool {
        self.0.load(Acquire) >> 1 == 0
    }
    fn add_permits(&self, n: usize) {
        self.0.fetch_sub(n << 1, AcqRel);
    }
    fn close(&self) {
        self.0.fetch_or(1, Release);
    }
    fn is_closed(&self) -> bool {
        self.0.load(Acquire) & 1 == 1
    }
}

/// Semaphore of the bounded flavour.
#[derive(Debug)]
pub(crate) struct Bounded {
    pub(crate) sem: crate::sync::batch_semaphore::Semaphore,
    pub(crate) bound: usize,
}

impl Semaphore for Bounded {
    fn is_idle(&self) -> bool {
        self.sem.available_permits() == self.bound
    }
    fn add_permits(&self, n: usize) {
        self.sem.release(n);
    }
    fn close(&self) {
        self.sem.close();
    }
    fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::mpsc;
    use futures_util::task::noop_waker_ref;
    use std::task::{Context, Poll};

    #[test]
    fn threads_send_receiver_gets_all_then_none() {
        let n = if cfg!(miri) { 40 } else { 2_000 };
        let (tx, mut rx) = mpsc::channel(8);
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..n {
                        tx.blocking_send(Box::new(i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut sum = 0;
        while let Some(v) = rx.blocking_recv() {
            sum += *v;
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(sum, 2 * (0..n).sum::<usize>());
    }

    #[test]
    fn recv_consumes_coop_budget() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..(crate::task::coop::BUDGET as usize + 10) {
            tx.send(i).unwrap();
        }
        let mut cx = Context::from_waker(noop_waker_ref());
        crate::task::coop::budget(|| {
            for _ in 0..crate::task::coop::BUDGET {
                assert!(rx.poll_recv(&mut cx).is_ready());
            }
            // Budget spent: a ready channel still yields.
            assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
        });
        // Outside a task poll it is unconstrained, and nothing was lost.
        assert_eq!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(crate::task::coop::BUDGET as usize))
        );
    }
}
