//! A waker slot shared by a timer's owner (who registers) and the time
//! driver (who takes the waker once, when the timer fires), which can be
//! *closed*: after the driver's [`AtomicWaker::take_and_close`], any later
//! registration wakes its waker at once instead of storing it.
//!
//! Closing is what lets a fired timer be dropped without taking the wheel
//! lock: the driver takes the waker *before* it publishes the fired state,
//! so once the owner sees the fired state the driver no longer touches the
//! entry; and a registration that slips in between the take and the publish
//! is not lost, because it finds the slot closed and wakes immediately.
//!
//! # Design
//! `state` holds three bits:
//! - `REGISTERING`: the owner is writing the waker cell;
//! - `WAKING`: the driver is taking the waker cell;
//! - `CLOSED`: the driver has taken the waker for good.
//!
//! Whoever moves `state` from `WAITING` (0) to one of the busy bits owns the
//! cell until it clears that bit; a party that finds the other busy leaves the
//! cell alone: a taker that finds `REGISTERING` leaves `WAKING` set and the
//! registrar, failing to clear `REGISTERING`, takes the waker back out and
//! wakes it itself. `register` is only called by the entry's owner (through
//! `Pin<&mut>`), `take_and_close` only by a holder of the wheel lock, and
//! [`AtomicWaker::reopen`] only with both of those exclusive.
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use std::fmt;
use std::task::Waker;

const WAITING: usize = 0;
const REGISTERING: usize = 0b001;
const WAKING: usize = 0b010;
const CLOSED: usize = 0b100;

/// See the module documentation.
pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is only accessed by the party that owns it through the
// `state` protocol (module design), and `Waker` is `Send + Sync`.
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    /// An open slot holding no waker.
    pub(crate) fn new() -> AtomicWaker {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` to be woken by the next `take_and_close`; if the slot
    /// is closed (or being taken), wakes `waker` now instead.
    pub(crate) fn register_by_ref(&self, waker: &Waker) {
        match self.state.compare_exchange(
            WAITING,
            REGISTERING,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // Clone before touching the cell, and catch a panicking
                // (foreign) clone: the slot then keeps its old waker, still
                // goes back to WAITING below, and the panic goes on after.
                let cloned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.waker.with(|cell| {
                        // SAFETY: `REGISTERING` is ours, so no one writes the
                        // cell.
                        match unsafe { &*cell } {
                            Some(old) if old.will_wake(waker) => None,
                            _ => Some(waker.clone()),
                        }
                    })
                }));
                let (new, panic) = match cloned {
                    Ok(new) => (new, None),
                    Err(panic) => (None, Some(panic)),
                };
                let old = new.and_then(|new| {
                    self.waker.with_mut(|cell| {
                        // SAFETY: `REGISTERING` is ours: exclusive access.
                        unsafe { (*cell).replace(new) }
                    })
                });
                match self.state.compare_exchange(
                    REGISTERING,
                    WAITING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {}
                    Err(actual) => {
                        // A take came in while we registered: it left the cell
                        // to us. Hand the waker out and wake it.
                        debug_assert_eq!(actual & (REGISTERING | WAKING), REGISTERING | WAKING);
                        let waker = self.waker.with_mut(|cell| {
                            // SAFETY: the taker saw `REGISTERING` and left the
                            // cell alone; we still own it until the store.
                            unsafe { (*cell).take() }
                        });
                        self.state.store(actual & CLOSED, Ordering::Release);
                        if let Some(w) = waker {
                            w.wake();
                        }
                    }
                }
                drop(old);
                if let Some(panic) = panic {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(_) => {
                // Closed or being taken: the event has happened.
                waker.wake_by_ref();
            }
        }
    }

    /// Takes the registered waker (if any) and closes the slot.
    ///
    /// Must only be called by a holder of the lock that serialises takes.
    pub(crate) fn take_and_close(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING | CLOSED, Ordering::AcqRel) {
            WAITING => {
                let waker = self.waker.with_mut(|cell| {
                    // SAFETY: we moved `state` from WAITING to WAKING, which
                    // gives us the cell until we clear WAKING.
                    unsafe { (*cell).take() }
                });
                self.state.fetch_and(!WAKING, Ordering::Release);
                waker
            }
            // A registration is in progress: it will see WAKING and wake its
            // waker itself. (Or the slot was already closed: nothing to take.)
            _ => None,
        }
    }

    /// Reopens a closed slot so the next registration is stored again.
    ///
    /// The caller must have exclusive access to the entry (its owner's
    /// `Pin<&mut>` and the wheel lock), so no registration or take runs.
    pub(crate) fn reopen(&self) {
        debug_assert_eq!(
            self.state.load(Ordering::Relaxed) & (REGISTERING | WAKING),
            0
        );
        self.state.store(WAITING, Ordering::Release);
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicWaker")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    struct Counter(StdAtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn counter() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter(StdAtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }
    fn count(c: &Counter) -> usize {
        c.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn register_then_take() {
        let w = AtomicWaker::new();
        let (c, waker) = counter();
        w.register_by_ref(&waker);
        assert_eq!(count(&c), 0);
        let taken = w.take_and_close().expect("registered waker");
        taken.wake();
        assert_eq!(count(&c), 1);
        assert!(w.take_and_close().is_none());
    }

    #[test]
    fn register_after_close_wakes_at_once() {
        let w = AtomicWaker::new();
        assert!(w.take_and_close().is_none());
        let (c, waker) = counter();
        w.register_by_ref(&waker);
        assert_eq!(count(&c), 1);
        // Reopened, it stores again.
        w.reopen();
        w.register_by_ref(&waker);
        assert_eq!(count(&c), 1);
        assert!(w.take_and_close().is_some());
    }

    #[test]
    fn re_register_replaces_waker() {
        let w = AtomicWaker::new();
        let (c1, w1) = counter();
        let (c2, w2) = counter();
        w.register_by_ref(&w1);
        w.register_by_ref(&w2);
        w.take_and_close().unwrap().wake();
        assert_eq!((count(&c1), count(&c2)), (0, 1));
    }

    #[test]
    fn concurrent_register_and_take_never_loses_the_wake() {
        for _ in 0..(if cfg!(miri) { 10 } else { 200 }) {
            let w = Arc::new(AtomicWaker::new());
            let (c, waker) = counter();
            let w2 = w.clone();
            let t = std::thread::spawn(move || {
                if let Some(waker) = w2.take_and_close() {
                    waker.wake();
                }
            });
            w.register_by_ref(&waker);
            t.join().unwrap();
            // Whichever order they ran in, the registered waker was woken
            // exactly once: by the take, or by the closed slot.
            assert_eq!(count(&c), 1);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::Arc;
    use crate::loom::thread;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn register_races_take_and_close_wakes_once() {
        loom::model(|| {
            let w = Arc::new(AtomicWaker::new());
            let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(count.clone());
            let w2 = w.clone();
            let t = thread::spawn(move || {
                if let Some(k) = w2.take_and_close() {
                    k.wake();
                }
            });
            w.register_by_ref(&waker);
            t.join().unwrap();
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        });
    }
}
