//! A single-slot waker cell that one party registers into and any party
//! wakes, without a lock.
//!
//! Used where exactly one task waits (an mpsc receiver, a oneshot end).
//!
//! ## Design
//!
//! `state` is `WAITING` (idle), or has `REGISTERING` and/or `WAKING` set.
//! - `register` moves `WAITING → REGISTERING`, stores the waker, and moves
//!   back to `WAITING`; if a `wake` arrived meanwhile (`WAKING` got set), it
//!   takes the waker back out and wakes it itself.
//! - `take` sets `WAKING`; only if the state was `WAITING` does it own the
//!   cell and take the waker, then clears `WAKING`.
//! - Invariant: the cell is only touched by the party that moved the state
//!   out of `WAITING` (exclusively), which is what the `unsafe` relies on.
//!
//! Only one task may call `register` at a time (the single waiting party);
//! `wake`/`take` may be called from anywhere concurrently.
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;
use std::task::Waker;

const WAITING: usize = 0;
const REGISTERING: usize = 1;
const WAKING: usize = 2;

pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell is accessed only by the party owning the state transition
// out of `WAITING` (module invariant), and `Waker` is `Send + Sync`.
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(crate) fn new() -> Self {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Registers `waker` to be woken by the next `wake`. Only the single
    /// waiting party may call this.
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // The new waker's `clone` is foreign code: if it panics, the
                // cell keeps the old waker, the state still goes back to
                // WAITING below (or a wake that came meanwhile is served),
                // and only then does the panic go on. The old waker is
                // dropped once the cell is released.
                let cloned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // SAFETY: we moved the state out of WAITING, so we own
                    // the cell until we move it back.
                    self.waker.with_mut(|p| unsafe {
                        match &*p {
                            Some(w) if w.will_wake(waker) => None,
                            _ => (*p).replace(waker.clone()),
                        }
                    })
                }));
                let (old, panic) = match cloned {
                    Ok(old) => (old, None),
                    Err(panic) => (None, Some(panic)),
                };
                if let Err(actual) =
                    self.state
                        .compare_exchange(REGISTERING, WAITING, AcqRel, Acquire)
                {
                    // A wake came in while we were registering; it could not
                    // take the waker, so we wake on its behalf.
                    debug_assert_eq!(actual, REGISTERING | WAKING);
                    // SAFETY: the state still has REGISTERING set by us, so
                    // no other party touches the cell.
                    let w = self.waker.with_mut(|p| unsafe { (*p).take() });
                    self.state.swap(WAITING, AcqRel);
                    if let Some(w) = w {
                        w.wake();
                    }
                }
                drop(old);
                if let Some(panic) = panic {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(WAKING) => {
                // Being woken right now: make sure this poll is retried.
                waker.wake_by_ref();
                // The caller will re-poll at once, spinning until the waking
                // party clears WAKING; tell the CPU (and loom) so.
                crate::loom::hint::spin_loop();
            }
            Err(_) => {
                // Concurrent `register` calls are a misuse; the other call
                // wins and this one is dropped.
            }
        }
    }

    /// Takes the registered waker, if any, for waking outside.
    pub(crate) fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                // SAFETY: we moved the state WAITING → WAKING, so we own the
                // cell until we clear WAKING.
                let w = self.waker.with_mut(|p| unsafe { (*p).take() });
                self.state.fetch_and(!WAKING, Release);
                w
            }
            _ => None,
        }
    }

    /// Wakes the registered waker, if any.
    pub(crate) fn wake(&self) {
        if let Some(w) = self.take() {
            w.wake();
        }
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicWaker").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn register_then_wake_from_another_thread() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let aw = Arc::new(AtomicWaker::new());
        aw.register(&waker);
        aw.register(&waker); // same waker: kept
        let aw2 = aw.clone();
        std::thread::spawn(move || aw2.wake()).join().unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Taken: a second wake finds nothing.
        aw.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(aw.take().is_none());
    }

    #[test]
    fn concurrent_register_and_wake_never_lose_a_wakeup() {
        for _ in 0..if cfg!(miri) { 10 } else { 200 } {
            let count = Arc::new(Count(AtomicUsize::new(0)));
            let waker = Waker::from(count.clone());
            let aw = Arc::new(AtomicWaker::new());
            let aw2 = aw.clone();
            let h = std::thread::spawn(move || aw2.wake());
            aw.register(&waker);
            h.join().unwrap();
            // Either the wake found the waker, or it ran before the
            // registration (then a later wake must find it).
            if count.0.load(Ordering::SeqCst) == 0 {
                aw.wake();
            }
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
    }
}
