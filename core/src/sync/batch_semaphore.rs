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
//! - only a holder of the `waiters` lock writes the count: while the node is
//!   linked, and once more (the final zero) right after the releaser has
//!   unlinked and freed it, still under the lock;
//! - a releaser lowers it; the releaser that assigns the last permit unlinks
//!   *and frees* the node (`WaitList::pop_front_free`) and then stores zero,
//!   which is its last access to the future;
//! - so a woken waiter that reads zero is done without taking the lock
//!   again (Tokio's waiter reads its intrusive node's state the same way),
//!   and one that reads more than zero still owns its node;
//! - `close` unlinks nodes without freeing them and leaves their counts
//!   above zero, which is how those waiters learn they were closed out;
//! - the future keeps its key until it has read zero or removed its node
//!   itself, also across foreign code (a waker's clone or drop) that may
//!   panic: its `Drop` must still find the key and take the node out.
//!
//! Wakers are cloned, dropped and woken outside the lock where the list
//! lets it (they are foreign code).
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
/// permits still to be assigned. Dereferenced only under the `waiters` lock,
/// while the node is linked or, for the releaser's final store, right after
/// it unlinked and freed it.
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

/// Panics unless `n` more permits fit beside those in state word `cur`
/// (no overflow, whatever `n` is).
fn assert_room(cur: usize, n: usize) {
    assert!(
        n <= MAX_PERMITS - (cur >> SHIFT).min(MAX_PERMITS),
        "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
    );
}

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
            assert_room(cur, n);
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
        // Checked before any waiter is served, so that the panic leaves the
        // semaphore as it was. (Under the lock, with waiters queued, only
        // acquires touch the count, and they lower it.)
        assert_room(self.state.load(Acquire), n);
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
                n = 0;
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
        debug_assert!(n == 0 || waiters.is_empty());
        if waiters.is_empty() {
            let mut cur = self.state.load(Acquire);
            loop {
                assert_room(cur, n);
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
        // Cloned before anything changes: the clone is foreign code and may
        // panic, which must not strand the permits taken below.
        let waker = cx.waker().clone();
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
                        Some(waker),
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
        let mut old_waker = None;
        if left > 0 {
            let was_linked = waiters.is_linked(&key);
            old_waker = waiters.remove_with_waker(key).0;
            if was_linked && waiters.is_empty() {
                self.state.fetch_and(!HAS_WAITERS, Release);
            }
        }
        let assigned = num - left;
        if assigned > 0 {
            self.release_locked(assigned, waiters);
        } else {
            drop(waiters);
        }
        drop(old_waker);
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
        // SAFETY: nothing is moved out of `this`, so `needed` keeps its
        // address for as long as a node may point at it. A releaser may
        // store to `needed` through that pointer while this `&mut` exists:
        // `Acquire` is `!Unpin` (`PhantomPinned`), and `&mut` to a `!Unpin`
        // type asserts no uniqueness; `needed` is an atomic besides.
        let this = unsafe { self.get_unchecked_mut() };
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        if this.key.is_some() {
            // Fully assigned: the releaser freed our node, nothing to lock.
            if this.needed.load(Acquire) == 0 {
                this.key = None;
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            let mut waiters = this.sem.waiters.lock();
            let needed = this.needed.load(Acquire);
            if needed == 0 {
                drop(waiters);
                this.key = None;
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            let key = this.key.as_ref().expect("queued waiter without a key");
            if waiters.is_linked(key) {
                // The key stays in place across the waker's clone and the
                // old one's drop (foreign code that may panic).
                let old = waiters.replace_waker(key, cx.waker());
                drop(waiters);
                drop(old);
                return Poll::Pending;
            }
            // Woken by `close` (our node is unlinked, and no releaser
            // touches it again): remove it and give back what was assigned
            // so far, as a dropped waiter does.
            drop(waiters);
            let key = this.key.take().expect("queued waiter without a key");
            this.sem.cancel(key, this.num, &this.needed);
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
    use std::task::Waker;

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

    /// A waker whose drop panics, like any foreign `Drop` may.
    struct PanicOnDrop;
    impl std::task::Wake for PanicOnDrop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("waker drop panics");
        }
    }

    #[test]
    fn panicking_waker_drop_keeps_the_node_owned() {
        let s = Semaphore::new(0);
        let mut a = Box::pin(s.acquire(1));
        {
            let w = Waker::from(std::sync::Arc::new(PanicOnDrop));
            let mut cx = Context::from_waker(&w);
            assert!(a.as_mut().poll(&mut cx).is_pending());
            // The node now holds the only clone.
            drop(w);
        }
        // Replacing the waker drops the old one, which panics.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll(a.as_mut())));
        assert!(r.is_err());
        // The future still owns its node: dropping it unlinks it, so the
        // release below finds no waiter and touches no freed memory.
        drop(a);
        s.release(1);
        assert_eq!(s.available_permits(), 1);
        assert_eq!(s.state.load(SeqCst) & HAS_WAITERS, 0);
    }

    #[test]
    fn dropped_assigned_waiter_leaves_reused_slot_alone() {
        let s = Semaphore::new(0);
        let mut a = Box::pin(s.acquire(1));
        assert!(poll(a.as_mut()).is_pending());
        s.release(1);
        // b reuses the slot a's node had; a is dropped without a poll.
        let mut b = Box::pin(s.acquire(2));
        assert!(poll(b.as_mut()).is_pending());
        drop(a);
        // a's permit went back and on to b.
        assert_eq!(s.waiters.lock().len(), 1);
        assert_ne!(s.state.load(SeqCst) & HAS_WAITERS, 0);
        assert!(poll(b.as_mut()).is_pending());
        s.release(1);
        assert_eq!(poll(b.as_mut()), Poll::Ready(Ok(())));
        assert_eq!(s.available_permits(), 0);
        assert_eq!(s.state.load(SeqCst) & HAS_WAITERS, 0);
    }

    #[test]
    fn drop_after_close_returns_partial() {
        let s = Semaphore::new(1);
        let mut a = Box::pin(s.acquire(3));
        assert!(poll(a.as_mut()).is_pending());
        s.release(1);
        s.close();
        drop(a);
        assert_eq!(s.available_permits(), 2);
        assert_eq!(s.state.load(SeqCst) & HAS_WAITERS, 0);
    }

    /// Counts its wakes.
    struct Count(std::sync::atomic::AtomicUsize);
    impl std::task::Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn replaced_waker_is_the_one_woken() {
        let s = Semaphore::new(0);
        let (ca, cb) = (
            std::sync::Arc::new(Count(AtomicUsize::new(0))),
            std::sync::Arc::new(Count(AtomicUsize::new(0))),
        );
        let (wa, wb) = (Waker::from(ca.clone()), Waker::from(cb.clone()));
        let mut a = Box::pin(s.acquire(3));
        assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
        s.release(1);
        assert!(a.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
        s.release(2);
        assert_eq!(ca.0.load(SeqCst), 0);
        assert_eq!(cb.0.load(SeqCst), 1);
        assert_eq!(poll(a.as_mut()), Poll::Ready(Ok(())));
    }

    #[test]
    fn close_fails_a_partially_served_front_and_the_next() {
        let s = Semaphore::new(1);
        let mut big = Box::pin(s.acquire(3));
        assert!(poll(big.as_mut()).is_pending());
        let mut small = Box::pin(s.acquire(1));
        assert!(poll(small.as_mut()).is_pending());
        s.close();
        assert_eq!(poll(big.as_mut()), Poll::Ready(Err(AcquireError)));
        assert_eq!(poll(small.as_mut()), Poll::Ready(Err(AcquireError)));
        assert_eq!(s.available_permits(), 1);
    }

    /// Real threads, for Miri's data-race and use-after-free checks: a
    /// waiter may be freed right after the releaser's final store.
    #[test]
    fn waiters_freed_right_after_release() {
        let s = std::sync::Arc::new(Semaphore::new(0));
        let rounds = if cfg!(miri) { 20 } else { 2_000 };
        let s2 = s.clone();
        let releaser = std::thread::spawn(move || {
            for _ in 0..rounds {
                s2.release(1);
                std::thread::yield_now();
            }
        });
        let mut got = 0;
        while got < rounds {
            let mut a = Box::pin(s.acquire(1));
            if poll(a.as_mut()).is_ready() {
                got += 1;
                continue;
            }
            std::thread::yield_now();
            match poll(a.as_mut()) {
                Poll::Ready(r) => {
                    r.unwrap();
                    got += 1;
                }
                // Dropped while queued: any permit it was given goes back.
                Poll::Pending => drop(a),
            }
        }
        releaser.join().unwrap();
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
