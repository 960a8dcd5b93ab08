//! The fair batch semaphore every lock and the bounded channel are built on.
//!
//! A counting semaphore whose waiters may ask for several permits at once and
//! are served strictly in FIFO order: a waiter at the front that needs more
//! permits than are free collects them as they are released (partial
//! assignment) and no later waiter overtakes it. `Mutex` is a 1-permit
//! semaphore, `RwLock` gives readers one permit and writers all of them, the
//! bounded `mpsc` channel holds one permit per buffered message.
//!
//! ## Design
//!
//! `state` packs `permits << 2 | HAS_WAITERS | CLOSED`:
//! - `CLOSED`: set once by [`Semaphore::close`]; acquisitions fail afterwards.
//! - `HAS_WAITERS`: set iff the waiter list is non-empty. It is only changed
//!   while holding the `waiters` lock, in the same critical section that
//!   changes the list's emptiness.
//! - Invariant: `HAS_WAITERS` set ⇒ the permit count in `state` is zero; all
//!   released permits are handed to queued waiters first.
//!
//! Fast paths are lock-free: an acquirer CASes permits out of `state` when
//! enough are free (impossible while someone is queued, so no barging); a
//! releaser CASes permits in when `HAS_WAITERS` is clear. Everything else
//! takes the `waiters` lock. A queued waiter's node records how many permits
//! it still needs; a releaser decrements that and unlinks the node once it
//! reaches zero. A waiter dropped mid-wait removes its node and gives back
//! whatever permits it had already been assigned, so none is ever lost.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::sync::wait_list::{WaitList, WaiterKey, WakeList};
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

const CLOSED: usize = 1;
const HAS_WAITERS: usize = 2;
const SHIFT: usize = 2;

/// The most permits a semaphore can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

#[derive(Debug)]
struct Waiter {
    /// Permits still to be assigned before this waiter is satisfied.
    needed: usize,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<WaitList<Waiter>>,
}

/// Why `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquireError {
    Closed,
    NoPermits,
}

/// The semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcquireError;

impl Semaphore {
    /// A semaphore with `permits` permits. Panics above [`MAX_PERMITS`].
    pub(crate) fn new(permits: usize) -> Self {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// As `new`, usable in `static`s. Panics (at compile time in a const
    /// context) above [`MAX_PERMITS`].
    #[cfg(not(loom))]
    pub(crate) const fn const_new(permits: usize) -> Self {
        assert!(permits <= MAX_PERMITS);
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.state.load(Acquire) >> SHIFT
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Acquire) & CLOSED != 0
    }

    /// Closes the semaphore: pending and future acquisitions fail.
    pub(crate) fn close(&self) {
        let mut wakers = WakeList::new();
        {
            let mut waiters = self.waiters.lock();
            self.state.fetch_or(CLOSED, Release);
            // Queued waiters stay in their slots with `needed > 0`, which is how
            // they learn they were woken by `close`.
            waiters.drain_with(&mut wakers, |_| {});
            self.state.fetch_and(!HAS_WAITERS, Release);
        }
        wakers.wake_all();
    }

    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        assert!(n <= MAX_PERMITS, "requested more than MAX_PERMITS permits");
        let mut cur = self.state.load(Acquire);
        loop {
            if cur & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if cur >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self
                .state
                .compare_exchange_weak(cur, cur - (n << SHIFT), AcqRel, Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Returns a future acquiring `n` permits.
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        assert!(n <= MAX_PERMITS, "requested more than MAX_PERMITS permits");
        Acquire {
            sem: self,
            num: n,
            key: None,
        }
    }

    /// Gives `n` permits back (or adds new ones), serving waiters first.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut cur = self.state.load(Acquire);
        loop {
            if cur & HAS_WAITERS != 0 {
                return self.release_locked(n, self.waiters.lock());
            }
            assert!(
                (cur >> SHIFT) + n <= MAX_PERMITS,
                "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
            );
            match self
                .state
                .compare_exchange_weak(cur, cur + (n << SHIFT), AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Hands `n` permits to queued waiters in FIFO order, then puts the rest
    /// into `state`. Consumes the lock guard and wakes after unlocking.
    fn release_locked(&self, mut n: usize, mut waiters: MutexGuard<'_, WaitList<Waiter>>) {
        let mut wakers = WakeList::new();
        while n > 0 {
            let Some(front) = waiters.front_mut() else {
                break;
            };
            let take = front.needed.min(n);
            front.needed -= take;
            n -= take;
            if front.needed == 0 {
                wakers.push_opt(waiters.pop_front().flatten());
            }
        }
        if waiters.is_empty() {
            let mut cur = self.state.load(Acquire);
            loop {
                assert!(
                    (cur >> SHIFT) + n <= MAX_PERMITS,
                    "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
                );
                let next = (cur & !HAS_WAITERS) + (n << SHIFT);
                match self.state.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                    Ok(_) => break,
                    Err(actual) => cur = actual,
                }
            }
        }
        drop(waiters);
        wakers.wake_all();
    }

    /// Slow path of `acquire`: under the lock, take what is free and queue
    /// for the rest. `Ok(None)` = fully acquired.
    fn acquire_slow(
        &self,
        num: usize,
        cx: &mut Context<'_>,
    ) -> Result<Option<WaiterKey>, AcquireError> {
        let mut waiters = self.waiters.lock();
        let mut cur = self.state.load(Acquire);
        loop {
            if cur & CLOSED != 0 {
                return Err(AcquireError);
            }
            let avail = cur >> SHIFT;
            let (next, done) = if avail >= num {
                (cur - (num << SHIFT), true)
            } else {
                // Take everything and announce that we are queued, atomically,
                // so no lock-free releaser can slip permits past us.
                (cur & CLOSED | HAS_WAITERS, false)
            };
            match self.state.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) if done => return Ok(None),
                Ok(_) => {
                    let key = waiters.push_back(
                        Some(cx.waker().clone()),
                        Waiter {
                            needed: num - avail,
                        },
                    );
                    return Ok(Some(key));
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Removes a waiter's node and gives back the permits it was assigned.
    fn cancel(&self, key: WaiterKey, num: usize) {
        let mut waiters = self.waiters.lock();
        let was_linked = waiters.is_linked(&key);
        let w = waiters.remove(key);
        if was_linked && waiters.is_empty() {
            self.state.fetch_and(!HAS_WAITERS, Release);
        }
        let assigned = num - w.needed;
        if assigned > 0 {
            self.release_locked(assigned, waiters);
        }
    }
}

/// Future returned by [`Semaphore::acquire`]. Cancel safe: dropping it gives
/// back any permits already assigned to it.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    num: usize,
    /// `Some` while queued; the node is ours to free.
    key: Option<WaiterKey>,
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        if let Some(key) = this.key.take() {
            let mut waiters = this.sem.waiters.lock();
            if waiters.is_linked(&key) {
                waiters.set_waker(&key, cx.waker());
                this.key = Some(key);
                return Poll::Pending;
            }
            let w = waiters.remove(key);
            if w.needed == 0 {
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            // Woken by `close`: give back what was assigned so far.
            let assigned = this.num - w.needed;
            if assigned > 0 {
                this.sem.release_locked(assigned, waiters);
            }
            coop.made_progress();
            return Poll::Ready(Err(AcquireError));
        }
        match this.sem.try_acquire(this.num) {
            Ok(()) => {
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            Err(TryAcquireError::Closed) => {
                coop.made_progress();
                return Poll::Ready(Err(AcquireError));
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        match this.sem.acquire_slow(this.num, cx) {
            Ok(None) => {
                coop.made_progress();
                Poll::Ready(Ok(()))
            }
            Ok(Some(key)) => {
                this.key = Some(key);
                Poll::Pending
            }
            Err(e) => {
                coop.made_progress();
                Poll::Ready(Err(e))
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sem.cancel(key, self.num);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(noop_waker_ref()))
    }

    #[test]
    fn fifo_partial_assignment() {
        let s = Semaphore::new(2);
        let mut big = s.acquire(3);
        assert!(poll(&mut big).is_pending());
        assert_eq!(s.available_permits(), 0);
        let mut small = s.acquire(1);
        assert!(poll(&mut small).is_pending());
        s.release(1);
        assert!(poll(&mut big).is_ready());
        assert!(poll(&mut small).is_pending());
        s.release(1);
        assert!(poll(&mut small).is_ready());
        assert_eq!(s.available_permits(), 0);
    }

    #[test]
    fn cancel_returns_partial_permits() {
        let s = Semaphore::new(2);
        let mut big = s.acquire(3);
        assert!(poll(&mut big).is_pending());
        let mut small = s.acquire(1);
        assert!(poll(&mut small).is_pending());
        drop(big);
        assert!(poll(&mut small).is_ready());
        assert_eq!(s.available_permits(), 1);
        assert_eq!(s.state.load(SeqCst) & HAS_WAITERS, 0);
    }

    #[test]
    fn close_fails_waiters_and_keeps_count() {
        let s = Semaphore::new(1);
        let mut a = s.acquire(3);
        assert!(poll(&mut a).is_pending());
        s.close();
        assert_eq!(poll(&mut a), Poll::Ready(Err(AcquireError)));
        assert_eq!(s.available_permits(), 1);
        assert_eq!(s.try_acquire(1), Err(TryAcquireError::Closed));
    }
}
