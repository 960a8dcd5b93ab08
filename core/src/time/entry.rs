//! The part of a timer that the wheel links and the driver fires:
//! [`TimerShared`], embedded (pinned) in every `Sleep`.
//!
//! # Design
//! No per-timer allocation: the wheel files raw pointers to the
//! `TimerShared` inside the (pinned) `Sleep` in intrusive lists, so
//! registering, cancelling and firing a timer only relinks pointers.
//!
//! `state` (an `AtomicU64`) is the single source of truth:
//! - a tick `t <= MAX_SAFE_TICK`: *registered*, to fire at tick `t`; the
//!   entry is linked in the wheel (in a slot, or in the pending list);
//! - `STATE_PENDING_FIRE`: the driver took it out of its slot and queued it
//!   in the wheel's pending list, about to fire;
//! - `STATE_FIRED` / `STATE_SHUTDOWN`: *terminal*: unlinked, fired normally
//!   or because the runtime shut down (also the initial, never-registered
//!   state is `STATE_FIRED`).
//!
//! Who may change what:
//! - Every transition into or out of a terminal state, and into
//!   `STATE_PENDING_FIRE`, happens under the wheel lock.
//! - Without the lock the owner may only *postpone* a registered timer
//!   (tick `a` -> tick `b >= a`, [`TimerShared::extend_expiration`]); the
//!   entry then stays filed under its old slot (`cached_when`) and the wheel
//!   re-files it when that slot comes up.
//! - `pointers` and `cached_when` are only touched under the wheel lock.
//!
//! Invariant: state is non-terminal **iff** the entry is linked in the wheel.
//!
//! Firing ([`TimerShared::fire`]) takes (and closes) the waker *before* it
//! stores the terminal state with `Release`, and never touches the entry
//! afterwards. So an owner that loads a terminal state with `Acquire` knows
//! the driver is done with the entry and may drop it without the lock.
use super::atomic_waker::AtomicWaker;
use super::linked_list::{self, Pointers};
use crate::loom::sync::atomic::{AtomicU64, Ordering};
use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

/// Fired (or never registered): terminal.
pub(crate) const STATE_FIRED: u64 = u64::MAX;
/// Queued in the wheel's pending list, about to fire.
pub(crate) const STATE_PENDING_FIRE: u64 = u64::MAX - 1;
/// Fired because the runtime shut down: terminal.
pub(crate) const STATE_SHUTDOWN: u64 = u64::MAX - 2;
/// The largest tick a timer can be registered for.
pub(crate) const MAX_SAFE_TICK: u64 = u64::MAX - 3;
/// `cached_when` of an entry that sits in the pending list.
pub(crate) const CACHED_PENDING: u64 = u64::MAX;

/// How a timer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Fired {
    /// Its deadline was reached.
    Elapsed,
    /// The runtime shut down first.
    Shutdown,
}

/// Result of trying to move a timer to the pending list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum MarkPending {
    /// Its tick is due: it is now `STATE_PENDING_FIRE`.
    Due,
    /// It was postponed to this tick: re-file it.
    Postponed(u64),
}

/// The shared half of a timer; see the module documentation.
#[derive(Debug)]
pub(crate) struct TimerShared {
    /// Links in a wheel slot or the pending list (wheel lock).
    pointers: Pointers<TimerShared>,
    /// The tick whose slot the entry is filed under, or `CACHED_PENDING`
    /// (wheel lock; atomic only to be readable by `Debug`).
    cached_when: AtomicU64,
    /// See the module documentation.
    state: AtomicU64,
    /// The owner's waker.
    waker: AtomicWaker,
    /// The wheel holds pointers to this value.
    _pin: PhantomPinned,
}

/// `Link` impl for the wheel's lists.
pub(crate) struct EntryLink;

/// A list of timer entries.
pub(crate) type EntryList = linked_list::LinkedList<EntryLink>;

// SAFETY: `pointers` projects to the embedded field without a reference.
unsafe impl linked_list::Link for EntryLink {
    type Target = TimerShared;

    unsafe fn pointers(target: NonNull<TimerShared>) -> NonNull<Pointers<TimerShared>> {
        // SAFETY: `target` is live (caller); `addr_of_mut!` creates no
        // reference, and a field of a non-null pointer is non-null.
        unsafe { NonNull::new_unchecked(std::ptr::addr_of_mut!((*target.as_ptr()).pointers)) }
    }
}

/// Whether `state` is terminal (fired, shut down, or never registered).
#[inline]
pub(crate) fn is_terminal(state: u64) -> bool {
    state == STATE_FIRED || state == STATE_SHUTDOWN
}

impl TimerShared {
    /// A never-registered entry.
    pub(crate) fn new() -> TimerShared {
        TimerShared {
            pointers: Pointers::new(),
            cached_when: AtomicU64::new(0),
            state: AtomicU64::new(STATE_FIRED),
            waker: AtomicWaker::new(),
            _pin: PhantomPinned,
        }
    }

    /// The current state (`Acquire`: a terminal state read here
    /// happens-after every access the driver made to the entry).
    #[inline]
    pub(crate) fn state(&self) -> u64 {
        self.state.load(Ordering::Acquire)
    }

    /// How the timer ended, if it did.
    #[inline]
    pub(crate) fn fired(&self) -> Option<Fired> {
        match self.state() {
            STATE_FIRED => Some(Fired::Elapsed),
            STATE_SHUTDOWN => Some(Fired::Shutdown),
            _ => None,
        }
    }

    /// The tick of the slot the entry is filed under (wheel lock held).
    pub(crate) fn cached_when(&self) -> u64 {
        self.cached_when.load(Ordering::Relaxed)
    }

    /// Lock-free postponement: succeeds iff the entry is registered for a
    /// tick `<= tick`. Only the owner calls this.
    pub(crate) fn extend_expiration(&self, tick: u64) -> Result<(), ()> {
        debug_assert!(tick <= MAX_SAFE_TICK);
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            // Sentinels (pending / terminal) are all above MAX_SAFE_TICK.
            if cur > tick {
                return Err(());
            }
            match self
                .state
                .compare_exchange_weak(cur, tick, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Arms an unlinked entry for `tick` before it is inserted in the wheel.
    ///
    /// Caller holds the wheel lock and the owner's exclusive access; the
    /// entry is in no list.
    pub(crate) fn set_expiration(&self, tick: u64) {
        debug_assert!(tick <= MAX_SAFE_TICK);
        self.cached_when.store(tick, Ordering::Relaxed);
        self.waker.reopen();
        self.state.store(tick, Ordering::Release);
    }

    /// Records that the entry now sits in the wheel's pending list without
    /// being due (the shutdown drain moves whole slots there), so that
    /// `Wheel::remove` looks for it in that list (wheel lock held).
    pub(crate) fn set_cached_pending(&self) {
        self.cached_when.store(CACHED_PENDING, Ordering::Relaxed);
    }

    /// Called by the wheel (lock held) when the slot this entry is filed
    /// under comes up at tick `not_after`.
    pub(crate) fn mark_pending(&self, not_after: u64) -> MarkPending {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            assert!(
                cur <= MAX_SAFE_TICK,
                "timer entry in the wheel is not registered (state {cur:#x})"
            );
            if cur > not_after {
                self.cached_when.store(cur, Ordering::Relaxed);
                return MarkPending::Postponed(cur);
            }
            match self.state.compare_exchange_weak(
                cur,
                STATE_PENDING_FIRE,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.cached_when.store(CACHED_PENDING, Ordering::Relaxed);
                    return MarkPending::Due;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Fires an entry that has just been unlinked from the wheel (lock
    /// held) and returns the waker to wake once the lock is released.
    ///
    /// After the final `Release` store the entry is never touched again by
    /// the caller: the owner may free it as soon as it observes the state.
    pub(crate) fn fire(&self, how: Fired) -> Option<Waker> {
        debug_assert!(!is_terminal(self.state.load(Ordering::Relaxed)));
        let waker = self.waker.take_and_close();
        let terminal = match how {
            Fired::Elapsed => STATE_FIRED,
            Fired::Shutdown => STATE_SHUTDOWN,
        };
        self.state.store(terminal, Ordering::Release);
        waker
    }

    /// Marks an entry that its owner has just unlinked (lock held) as
    /// no longer registered, without waking anyone.
    pub(crate) fn cancel(&self) {
        self.state.store(STATE_FIRED, Ordering::Release);
    }

    /// Registers `waker` and reports whether the timer has fired.
    pub(crate) fn poll(&self, waker: &Waker) -> Poll<Fired> {
        if let Some(f) = self.fired() {
            return Poll::Ready(f);
        }
        self.waker.register_by_ref(waker);
        match self.fired() {
            Some(f) => Poll::Ready(f),
            None => Poll::Pending,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    #[test]
    fn lifecycle() {
        let e = Box::pin(TimerShared::new());
        assert_eq!(e.fired(), Some(Fired::Elapsed)); // never registered
        e.set_expiration(10);
        assert_eq!(e.poll(noop_waker_ref()), Poll::Pending);
        // Postpone without the lock; shortening is refused.
        assert!(e.extend_expiration(20).is_ok());
        assert!(e.extend_expiration(15).is_err());
        // The slot for tick 10 comes up: re-file at 20.
        assert_eq!(e.mark_pending(10), MarkPending::Postponed(20));
        assert_eq!(e.cached_when(), 20);
        assert_eq!(e.mark_pending(20), MarkPending::Due);
        assert_eq!(e.cached_when(), CACHED_PENDING);
        assert!(
            e.extend_expiration(30).is_err(),
            "pending cannot be extended"
        );
        assert!(e.fire(Fired::Elapsed).is_some());
        assert_eq!(e.poll(noop_waker_ref()), Poll::Ready(Fired::Elapsed));
        // Re-arm and shut down.
        e.set_expiration(40);
        assert_eq!(e.poll(noop_waker_ref()), Poll::Pending);
        assert!(e.fire(Fired::Shutdown).is_some());
        assert_eq!(e.fired(), Some(Fired::Shutdown));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::atomic::AtomicUsize;
    use crate::loom::sync::Arc;
    use crate::loom::thread;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The driver fires while the owner polls: the owner either sees the
    /// fired state or is woken; and once it sees the fired state, the
    /// driver no longer touches the entry (the owner's exclusive access
    /// to the waker cell below would be a data race otherwise).
    #[test]
    fn fire_races_poll() {
        loom::model(|| {
            let entry = Arc::new(TimerShared::new());
            entry.set_expiration(5);
            let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(count.clone());
            let e2 = entry.clone();
            let driver = thread::spawn(move || {
                assert_eq!(e2.mark_pending(5), MarkPending::Due);
                if let Some(w) = e2.fire(Fired::Elapsed) {
                    w.wake();
                }
            });
            match entry.poll(&waker) {
                Poll::Ready(f) => {
                    assert_eq!(f, Fired::Elapsed);
                    // What a lock-free drop does: touch the cell exclusively.
                    entry.waker.reopen();
                    entry.waker.register_by_ref(&waker);
                }
                Poll::Pending => {}
            }
            driver.join().unwrap();
            assert_eq!(entry.fired(), Some(Fired::Elapsed));
            if count.0.load(Ordering::SeqCst) == 0 {
                // Not woken: then the poll must have seen it fired.
                assert_eq!(entry.poll(&waker), Poll::Ready(Fired::Elapsed));
            }
        });
    }
}
