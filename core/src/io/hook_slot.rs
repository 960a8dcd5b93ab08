//! The slot holding one registration's event hook: installed once by the
//! registration's owner, called by the I/O driver for each event, and
//! detached (dropped) when the registration is released, even while the
//! entry's memory is kept for late events.
//!
//! # Design
//!
//! A state word and a cell. The state bits:
//!
//! | bit        | meaning                                                  |
//! |------------|----------------------------------------------------------|
//! | `INSTALLED`| the cell holds a hook                                    |
//! | `BUSY`     | one party has the cell to itself: [`HookSlot::install`] while it writes, [`HookSlot::offer`] while the hook runs |
//! | `DETACHED` | released: the hook must be dropped and never run again   |
//!
//! Who touches the cell:
//! - `install` takes `0 → BUSY`, writes the cell, then leaves with
//!   `BUSY → INSTALLED` (one `xor`).
//! - `offer` (the driver's thread, one at a time) takes
//!   `INSTALLED → INSTALLED | BUSY`, runs the hook, then clears `BUSY`.
//!   Any other state (no hook yet, being installed, detached) means "no
//!   hook" for that event, which then wakes the waiting tasks.
//! - `detach` sets `DETACHED`. If the cell holds a hook and nobody is
//!   `BUSY`, it drops the hook itself; otherwise the `BUSY` party sees
//!   `DETACHED` when it clears `BUSY` and drops the hook then. A hook may
//!   therefore release its own registration: it is dropped once it
//!   returns.
//!
//! Every transition is a read-modify-write on the one word, so exactly one
//! party drops the hook, never while it runs, and the cell is accessed only
//! by the party that owns it by the table above. The hook's effects and its
//! drop are ordered by the `AcqRel` accesses of the word.
use crate::io::Ready;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicU32, Ordering::AcqRel, Ordering::Acquire};

/// A function the I/O driver calls with each event of one registration, on
/// the thread turning the driver; `true` means the event was consumed (see
/// [`AsyncFd::set_event_hook`](crate::io::AsyncFd::set_event_hook)).
pub type EventHook = dyn Fn(Ready) -> bool + Send + Sync;

const INSTALLED: u32 = 1;
const BUSY: u32 = 1 << 1;
const DETACHED: u32 = 1 << 2;

/// What [`HookSlot::offer`] did with an event.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offered {
    /// The hook dealt with the event; nobody is to be woken.
    Consumed,
    /// The hook declined (or panicked): wake the waiters.
    Declined,
    /// No hook is installed (or it was detached): wake the waiters.
    NoHook,
}

/// One registration's event hook (see the module docs).
pub(crate) struct HookSlot {
    state: AtomicU32,
    hook: UnsafeCell<Option<Box<EventHook>>>,
}

// SAFETY: the cell is read or written only by the party that owns it under
// the state protocol in the module docs (`install` or `offer` while `BUSY`
// is theirs, `detach` or the finishing `BUSY` party once `DETACHED` makes
// the hook theirs to drop), and those hand-overs are ordered by `AcqRel`
// read-modify-writes of `state`. The hook itself is `Send + Sync`, so it
// may be run and dropped on any thread.
unsafe impl Sync for HookSlot {}

impl std::fmt::Debug for HookSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSlot")
            .field("state", &self.state.load(Acquire))
            .finish_non_exhaustive()
    }
}

impl HookSlot {
    pub(crate) fn new() -> HookSlot {
        HookSlot {
            state: AtomicU32::new(0),
            hook: UnsafeCell::new(None),
        }
    }

    /// Installs `hook`; `Err` gives it back if a hook was installed before
    /// or the slot was detached.
    pub(crate) fn install(&self, hook: Box<EventHook>) -> Result<(), Box<EventHook>> {
        if self
            .state
            .compare_exchange(0, BUSY, Acquire, Acquire)
            .is_err()
        {
            return Err(hook);
        }
        // SAFETY: we moved the state from 0 to BUSY, so nobody else reads
        // or writes the cell until we clear BUSY (module docs).
        self.hook.with_mut(|cell| unsafe { *cell = Some(hook) });
        let prev = self.state.fetch_xor(BUSY | INSTALLED, AcqRel);
        if prev & DETACHED != 0 {
            // Detached while we wrote: the drop was left to us.
            self.drop_hook();
        }
        Ok(())
    }

    /// Driver side: offers `ready` to the hook, if one is installed and not
    /// detached. A panicking hook is reported on stderr and counts as
    /// declining.
    pub(crate) fn offer(&self, ready: Ready) -> Offered {
        // A plain load first: most registrations have no hook, and a failed
        // compare-exchange would still lock the cache line.
        if self.state.load(Acquire) != INSTALLED
            || self
                .state
                .compare_exchange(INSTALLED, INSTALLED | BUSY, Acquire, Acquire)
                .is_err()
        {
            return Offered::NoHook;
        }
        let consumed = self.hook.with(|cell| {
            // SAFETY: we hold BUSY with INSTALLED set, so the cell holds
            // the hook and nobody writes or drops it until we clear BUSY.
            let hook = unsafe { (*cell).as_deref() };
            hook.map(|hook| {
                // A panicking hook must not unwind out of the driver's
                // dispatch loop (the rest of the batch would go unwoken).
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(ready)))
                    .unwrap_or_else(|_| {
                        eprintln!("runtime: an I/O event hook panicked; the event wakes waiters");
                        false
                    })
            })
        });
        let prev = self.state.fetch_and(!BUSY, AcqRel);
        if prev & DETACHED != 0 {
            // Detached while the hook ran (perhaps by the hook itself).
            self.drop_hook();
        }
        match consumed {
            Some(true) => Offered::Consumed,
            _ => Offered::Declined,
        }
    }

    /// Release side: the hook is never run again and is dropped now, or by
    /// the party running or installing it as soon as it is done.
    /// Idempotent.
    pub(crate) fn detach(&self) {
        let prev = self.state.fetch_or(DETACHED, AcqRel);
        if prev & (DETACHED | BUSY) == 0 && prev & INSTALLED != 0 {
            self.drop_hook();
        }
    }

    /// Whether a hook is installed and not detached (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_live(&self) -> bool {
        self.state.load(Acquire) & (INSTALLED | DETACHED) == INSTALLED
    }

    /// Drops the hook; called once, by whoever the protocol hands it to.
    fn drop_hook(&self) {
        // SAFETY: DETACHED is set and the caller is the last party the
        // protocol lets near the cell (the one that saw DETACHED with no
        // BUSY left, or the BUSY party finishing after DETACHED was set);
        // no `offer` can start, since DETACHED makes its compare-exchange
        // fail, and `install` cannot start, since the state is not 0.
        let hook = self.hook.with_mut(|cell| unsafe { (*cell).take() });
        drop(hook);
    }
}

/// Tests: counts its drops (a hook holding one shows when it is dropped).
#[cfg(test)]
struct OnDrop(std::sync::Arc<std::sync::atomic::AtomicUsize>);

#[cfg(test)]
impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

    /// Counts its calls, and its drop.
    fn counting(calls: &Arc<AtomicUsize>, drops: &Arc<AtomicUsize>) -> Box<EventHook> {
        let calls = calls.clone();
        let guard = OnDrop(drops.clone());
        Box::new(move |_| {
            let _ = &guard;
            calls.fetch_add(1, SeqCst);
            true
        })
    }

    #[test]
    fn offer_without_a_hook_says_so() {
        let slot = HookSlot::new();
        assert_eq!(slot.offer(Ready::READABLE), Offered::NoHook);
    }

    #[test]
    fn second_install_and_install_after_detach_give_the_hook_back() {
        let slot = HookSlot::new();
        assert!(slot.install(Box::new(|_| true)).is_ok());
        assert!(slot.install(Box::new(|_| true)).is_err());
        let fresh = HookSlot::new();
        fresh.detach();
        assert!(fresh.install(Box::new(|_| true)).is_err());
        assert_eq!(fresh.offer(Ready::READABLE), Offered::NoHook);
    }

    #[test]
    fn detach_drops_the_hook_at_once_and_stops_offers() {
        let (calls, drops) = (Arc::default(), Arc::default());
        let slot = HookSlot::new();
        assert!(slot.install(counting(&calls, &drops)).is_ok());
        assert_eq!(slot.offer(Ready::READABLE), Offered::Consumed);
        assert!(slot.is_live());
        slot.detach();
        assert_eq!(drops.load(SeqCst), 1, "dropped by detach itself");
        assert_eq!(slot.offer(Ready::READABLE), Offered::NoHook);
        slot.detach();
        assert_eq!((calls.load(SeqCst), drops.load(SeqCst)), (1, 1));
    }

    #[test]
    fn a_hook_detaching_its_own_slot_is_dropped_after_it_returns() {
        let slot = Arc::new(HookSlot::new());
        let dropped = Arc::new(AtomicUsize::new(0));
        let seen_inside = Arc::new(AtomicUsize::new(usize::MAX));
        let guard = OnDrop(dropped.clone());
        let (weak, dropped2, seen) = (Arc::downgrade(&slot), dropped.clone(), seen_inside.clone());
        let hook: Box<EventHook> = Box::new(move |_| {
            let _ = &guard;
            weak.upgrade().unwrap().detach();
            // Still alive: the drop waits for us to return.
            seen.store(dropped2.load(SeqCst), SeqCst);
            false
        });
        assert!(slot.install(hook).is_ok());
        assert_eq!(slot.offer(Ready::READABLE), Offered::Declined);
        assert_eq!(seen_inside.load(SeqCst), 0);
        assert_eq!(dropped.load(SeqCst), 1);
        assert_eq!(slot.offer(Ready::READABLE), Offered::NoHook);
    }

    #[test]
    fn a_panicking_hook_declines_and_stays_installed() {
        let slot = HookSlot::new();
        assert!(slot
            .install(Box::new(|_| panic!("hook panics on purpose")))
            .is_ok());
        assert_eq!(slot.offer(Ready::READABLE), Offered::Declined);
        assert!(slot.is_live());
        slot.detach();
        assert!(!slot.is_live());
    }

    #[test]
    fn detach_racing_offers_drops_exactly_once_and_never_during_a_call() {
        for _ in 0..200 {
            let (calls, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let slot = Arc::new(HookSlot::new());
            let d = drops.clone();
            let hook: Box<EventHook> = {
                let inner = counting(&calls, &drops);
                Box::new(move |r| {
                    assert_eq!(d.load(SeqCst), 0, "called after its drop");
                    inner(r)
                })
            };
            assert!(slot.install(hook).is_ok());
            let s = slot.clone();
            let driver = std::thread::spawn(move || {
                for _ in 0..100 {
                    let _ = s.offer(Ready::READABLE);
                }
            });
            slot.detach();
            driver.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::Arc;
    use crate::loom::thread;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    fn hook(drops: &std::sync::Arc<AtomicUsize>) -> Box<EventHook> {
        let guard = OnDrop(drops.clone());
        let drops = drops.clone();
        Box::new(move |_| {
            let _ = &guard;
            assert_eq!(drops.load(SeqCst), 0, "a hook ran after its drop");
            true
        })
    }

    #[test]
    fn offer_racing_detach_drops_the_hook_once() {
        loom::model(|| {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(HookSlot::new());
            assert!(slot.install(hook(&drops)).is_ok());
            let s = slot.clone();
            let t = thread::spawn(move || {
                let _ = s.offer(Ready::READABLE);
            });
            slot.detach();
            t.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1);
            assert_eq!(slot.offer(Ready::READABLE), Offered::NoHook);
        });
    }

    #[test]
    fn install_racing_an_offer_then_detach_drops_the_hook_once() {
        loom::model(|| {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(HookSlot::new());
            let s = slot.clone();
            let t = thread::spawn(move || {
                let _ = s.offer(Ready::READABLE);
            });
            let installed = slot.install(hook(&drops)).is_ok();
            slot.detach();
            t.join().unwrap();
            assert!(installed);
            assert_eq!(drops.load(SeqCst), 1);
        });
    }
}
