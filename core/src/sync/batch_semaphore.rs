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
//! takes the `waiters` lock. A queued waiter's count of permits it still
//! needs lives in its own (pinned) [`Acquire`] future, and its list node
//! points at it:
//! - only a holder of the `waiters` lock writes the count, and only while
//!   the node is linked;
//! - a releaser lowers it; the releaser that assigns the last permit unlinks
//!   *and frees* the node (`WaitList::pop_front_free`) and then stores zero,
//!   which is its last access to the future;
//! - so a woken waiter that reads zero is done without taking the lock
//!   again (Tokio's waiter reads its intrusive node's state the same way),
//!   and one that reads more than zero still owns its node;
//! - `close` unlinks nodes without freeing them and leaves their counts
//!   above zero, which is how those waiters learn they were closed out.
//!
//! A waiter dropped mid-wait removes its node and gives back whatever
//! permits it had already been assigned, so none is ever lost.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::sync::wait_list::{WaitList, WaiterKey, WakeList};
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll};

const CLOSED: usize = 1;
const HAS_WAITERS: usize = 2;
const SHIFT: usize = 2;

/// The most permits a semaphore can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// A queued waiter's node data: where its `Acquire` keeps the count of
/// permits still to be assigned.
#[derive(Debug)]
struct Waiter {
    needed: NonNull<AtomicUsize>,
}

// SAFETY: the pointer is only dereferenced by holders of the semaphore's
// `waiters` lock while the node is linked, when it points into a live,
// pinned `Acquire` (see `Waiter::needed`); the pointee is an atomic, which
// any thread may access.
unsafe impl Send for Waiter {}

impl Waiter {
    /// The waiter's count of permits still needed.
    ///
    /// # Safety
    /// The caller holds the `waiters` lock and the node is linked: its
    /// `Acquire` is pinned (it is `!Unpin` and was polled through `Pin`) and
    /// cannot be freed before its `Drop` has taken that lock and removed the
    /// node, or has seen the count at zero, which a releaser stores last.
    unsafe fn needed(&self) -> &AtomicUsize {
        // SAFETY: guaranteed by the caller (see above).
        unsafe { self.needed.as_ref() }
    }
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
            needed: AtomicUsize::new(0),
            _pinned: PhantomPinned,
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
            let ptr = front.needed;
            // SAFETY: we hold the lock and `front` is linked.
            let needed = unsafe { front.needed() };
            let cur = needed.load(Relaxed);
            if cur > n {
                needed.store(cur - n, Relaxed);
                break;
            }
            n -= cur;
            let waker = waiters.pop_front_free().and_then(|(w, _)| w);
            // SAFETY: the lock is still held, and until the store below the
            // waiter sees a count above zero, so it cannot have freed its
            // `Acquire` (it would take this lock first). The store is our
            // last access: a waiter that reads zero may free it at once.
            unsafe { ptr.as_ref() }.store(0, Release);
            wakers.push_opt(waker);
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
    /// `needed` is the caller's pinned count, which the node will point at.
    fn acquire_slow(
        &self,
        num: usize,
        needed: &AtomicUsize,
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
                    needed.store(num - avail, Relaxed);
                    let key = waiters.push_back(
                        Some(cx.waker().clone()),
                        Waiter {
                            needed: NonNull::from(needed),
                        },
                    );
                    return Ok(Some(key));
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Drops a waiter: removes its node unless a releaser already freed it
    /// (count at zero), and gives back the permits it was assigned.
    fn cancel(&self, key: WaiterKey, num: usize, needed: &AtomicUsize) {
        let mut waiters = self.waiters.lock();
        let left = needed.load(Acquire);
        if left > 0 {
            let was_linked = waiters.is_linked(&key);
            waiters.remove(key);
            if was_linked && waiters.is_empty() {
                self.state.fetch_and(!HAS_WAITERS, Release);
            }
        }
        let assigned = num - left;
        if assigned > 0 {
            self.release_locked(assigned, waiters);
        }
    }
}

/// Future returned by [`Semaphore::acquire`]. Cancel safe: dropping it gives
/// back any permits already assigned to it.
///
/// `!Unpin`: while queued, its list node points at `needed`.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    num: usize,
    /// `Some` while queued; the node is ours to free unless `needed` reads
    /// zero (then a releaser freed it).
    key: Option<WaiterKey>,
    /// Permits still to be assigned while queued (see the module docs).
    needed: AtomicUsize,
    _pinned: PhantomPinned,
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of `this`; `needed` keeps its address
        // for as long as a node may point at it.
        let this = unsafe { self.get_unchecked_mut() };
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        if let Some(key) = this.key.take() {
            // Fully assigned: the releaser freed our node, nothing to lock.
            if this.needed.load(Acquire) == 0 {
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            let mut waiters = this.sem.waiters.lock();
            let needed = this.needed.load(Acquire);
            if needed == 0 {
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            if waiters.is_linked(&key) {
                waiters.set_waker(&key, cx.waker());
                this.key = Some(key);
                return Poll::Pending;
            }
            waiters.remove(key);
            // Woken by `close`: give back what was assigned so far.
            let assigned = this.num - needed;
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
        match this.sem.acquire_slow(this.num, &this.needed, cx) {
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
            self.sem.cancel(key, self.num, &self.needed);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    fn poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(noop_waker_ref()))
    }

    #[test]
    fn fifo_partial_assignment() {
        let s = Semaphore::new(2);
        let mut big = Box::pin(s.acquire(3));
        assert!(poll(big.as_mut()).is_pending());
        assert_eq!(s.available_permits(), 0);
        let mut small = Box::pin(s.acquire(1));
        assert!(poll(small.as_mut()).is_pending());
        s.release(1);
        assert!(poll(big.as_mut()).is_ready());
        assert!(poll(small.as_mut()).is_pending());
        s.release(1);
        assert!(poll(small.as_mut()).is_ready());
        assert_eq!(s.available_permits(), 0);
    }

    #[test]
    fn cancel_returns_partial_permits() {
        let s = Semaphore::new(2);
        let mut big = Box::pin(s.acquire(3));
        assert!(poll(big.as_mut()).is_pending());
        let mut small = Box::pin(s.acquire(1));
        assert!(poll(small.as_mut()).is_pending());
        drop(big);
        assert!(poll(small.as_mut()).is_ready());
        assert_eq!(s.available_permits(), 1);
        assert_eq!(s.state.load(SeqCst) & HAS_WAITERS, 0);
    }

    #[test]
    fn assigned_waiter_dropped_unpolled_gives_all_back() {
        let s = Semaphore::new(0);
        let mut a = Box::pin(s.acquire(2));
        assert!(poll(a.as_mut()).is_pending());
        // Fully assigned: the releaser frees a's node.
        s.release(2);
        assert_eq!(s.available_permits(), 0);
        drop(a);
        assert_eq!(s.available_permits(), 2);
        assert_eq!(s.state.load(SeqCst) & HAS_WAITERS, 0);
    }

    #[test]
    fn freed_slot_reused_by_next_waiter() {
        let s = Semaphore::new(0);
        let mut a = Box::pin(s.acquire(1));
        assert!(poll(a.as_mut()).is_pending());
        s.release(1);
        // b takes the slot a's node had; a must not touch it.
        let mut b = Box::pin(s.acquire(1));
        assert!(poll(b.as_mut()).is_pending());
        assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
        drop(a);
        assert!(poll(b.as_mut()).is_pending());
        s.release(1);
        assert_eq!(poll(b.as_mut()), Poll::Ready(Ok(())));
        drop(b);
        assert_eq!(s.available_permits(), 0);
    }

    #[test]
    fn close_fails_waiters_and_keeps_count() {
        let s = Semaphore::new(1);
        let mut a = Box::pin(s.acquire(3));
        assert!(poll(a.as_mut()).is_pending());
        s.close();
        assert_eq!(poll(a.as_mut()), Poll::Ready(Err(AcquireError)));
        assert_eq!(s.available_permits(), 1);
        assert_eq!(s.try_acquire(1), Err(TryAcquireError::Closed));
    }
}
