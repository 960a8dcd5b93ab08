//! The task's atomic state word.
//!
//! One `AtomicUsize` holds every lifecycle flag plus the reference count, so
//! each transition is a single CAS and no lock is ever taken on the hot path.
//!
//! ```text
//!  bit:   0        1         2         3              4           5          6..
//!       RUNNING  COMPLETE  NOTIFIED  JOIN_INTEREST  JOIN_WAKER  CANCELLED  ref count
//! ```
//!
//! - `RUNNING`: some thread owns the future (polling it, or cancelling it).
//!   Only the thread that set it may touch the stage; it is a lock.
//! - `COMPLETE`: the stage holds the output (or the cancellation/panic
//!   error). Set once, together with clearing `RUNNING`; never cleared.
//! - `NOTIFIED`: a `Notified` handle for this task exists (in a run queue, or
//!   about to be). At most one exists at a time; this bit guarantees a wake
//!   while running re-schedules exactly once.
//! - `JOIN_INTEREST`: the `JoinHandle` is alive; while set, the completer
//!   leaves the output for it.
//! - `JOIN_WAKER`: the join-waker slot holds a waker and belongs to the
//!   completer side; while unset and not complete it belongs to the
//!   `JoinHandle`.
//! - `CANCELLED`: `abort()` or shutdown asked for the future to be dropped.
//!
//! The reference count counts: the `OwnedTasks` list's reference, the
//! `Notified`/running reference, the `JoinHandle`, every `AbortHandle` and
//! every `Waker` clone. The cell is freed when it reaches zero.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

const RUNNING: usize = 0b00_0001;
const COMPLETE: usize = 0b00_0010;
const NOTIFIED: usize = 0b00_0100;
const JOIN_INTEREST: usize = 0b00_1000;
const JOIN_WAKER: usize = 0b01_0000;
const CANCELLED: usize = 0b10_0000;
const REF_SHIFT: usize = 6;
const REF_ONE: usize = 1 << REF_SHIFT;
const LIFECYCLE: usize = RUNNING | COMPLETE;

/// A new task starts with three references (the owned list, the first
/// `Notified`, the `JoinHandle`), join interest, and already notified.
const INITIAL: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word at one instant.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

/// Result of [`State::transition_to_running`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// The caller owns the future and must poll it.
    Poll,
    /// The caller owns the future and must drop it (task was cancelled).
    Cancel,
    /// Someone else owns it or it is done; the caller dropped its reference
    /// and must do nothing else.
    Failed,
    /// As `Failed`, and the caller held the last reference: deallocate.
    Dealloc,
}

/// Result of [`State::transition_to_idle`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle; the running reference was dropped.
    Ok,
    /// Woken while running: a reference was added for a new `Notified`
    /// that the caller must schedule, then drop its running reference.
    OkNotified,
    /// Idle, and the running reference was the last one: deallocate.
    OkDealloc,
    /// Aborted while running: the caller still owns the future, must drop it
    /// and complete the task.
    Cancelled,
}

/// Result of a wake transition.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Nothing to do (running, done or already queued).
    DoNothing,
    /// The caller must submit a new `Notified` (one reference was added for
    /// it); a consuming wake then drops the waker's own reference.
    Submit,
    /// The caller dropped the last reference: deallocate.
    Dealloc,
}

/// Result of [`State::transition_to_join_handle_dropped`].
#[must_use]
pub(crate) struct JoinDropped {
    /// The task is complete: the `JoinHandle` must drop the output.
    pub(crate) drop_output: bool,
    /// The `JoinHandle` owns the join-waker slot and must clear it.
    pub(crate) drop_waker: bool,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// CAS loop; `f` returns `None` to leave the state unchanged.
    fn fetch_update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else { return out };
            match self.val.compare_exchange(curr.0, next.0, AcqRel, Acquire) {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called by the scheduler with the `Notified` reference in hand.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_notified() || curr.is_complete() || curr.is_running());
            if curr.is_running() || curr.is_complete() || !curr.is_notified() {
                let next = curr.ref_dec();
                let act = if next.ref_count() == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Failed
                };
                return (act, Some(next));
            }
            let mut next = curr;
            next.0 = (next.0 | RUNNING) & !NOTIFIED;
            let act = if next.is_cancelled() {
                ToRunning::Cancel
            } else {
                ToRunning::Poll
            };
            (act, Some(next))
        })
    }

    /// After a `Pending` poll.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_running());
            if curr.is_cancelled() {
                return (ToIdle::Cancelled, None);
            }
            let mut next = curr;
            next.0 &= !RUNNING;
            if next.is_notified() {
                // A reference for the new Notified; the poller keeps its
                // own until the scheduler has taken the task (the cell
                // holds the scheduler handle it calls).
                next = next.ref_inc();
                (ToIdle::OkNotified, Some(next))
            } else {
                next = next.ref_dec();
                let act = if next.ref_count() == 0 {
                    ToIdle::OkDealloc
                } else {
                    ToIdle::Ok
                };
                (act, Some(next))
            }
        })
    }

    /// Sets `COMPLETE`, clears `RUNNING`. Returns the new snapshot.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ (RUNNING | COMPLETE))
    }

    /// Drops `count` references at once after completion; true = dealloc.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        assert!(prev.ref_count() >= count, "task reference count underflow");
        prev.ref_count() == count
    }

    /// `Waker::wake` (consumes the waker's reference).
    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotified {
        self.fetch_update(|curr| {
            let mut next = curr;
            if curr.is_running() {
                // The poller will re-schedule on its way out; drop ours.
                next.0 |= NOTIFIED;
                next = next.ref_dec();
                debug_assert!(next.ref_count() > 0);
                (ToNotified::DoNothing, Some(next))
            } else if curr.is_complete() || curr.is_notified() {
                next = next.ref_dec();
                if next.ref_count() == 0 {
                    (ToNotified::Dealloc, Some(next))
                } else {
                    (ToNotified::DoNothing, Some(next))
                }
            } else {
                // A reference for the new Notified; the waker drops its own
                // once `schedule` returned (see waker.rs).
                next = next.ref_inc();
                next.0 |= NOTIFIED;
                (ToNotified::Submit, Some(next))
            }
        })
    }

    /// `Waker::wake_by_ref` (keeps the waker's reference).
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.fetch_update(|curr| {
            if curr.is_complete() || curr.is_notified() {
                (ToNotified::DoNothing, None)
            } else if curr.is_running() {
                let mut next = curr;
                next.0 |= NOTIFIED;
                (ToNotified::DoNothing, Some(next))
            } else {
                let mut next = curr.ref_inc();
                next.0 |= NOTIFIED;
                (ToNotified::Submit, Some(next))
            }
        })
    }

    /// `abort()` from any thread.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> ToNotified {
        self.fetch_update(|curr| {
            if curr.is_cancelled() || curr.is_complete() {
                (ToNotified::DoNothing, None)
            } else if curr.is_running() || curr.is_notified() {
                // The poller (or the queued Notified) will see CANCELLED.
                let mut next = curr;
                next.0 |= CANCELLED;
                if curr.is_running() {
                    next.0 |= NOTIFIED;
                }
                (ToNotified::DoNothing, Some(next))
            } else {
                let mut next = curr.ref_inc();
                next.0 |= CANCELLED | NOTIFIED;
                (ToNotified::Submit, Some(next))
            }
        })
    }

    /// Runtime shutdown: mark cancelled and, if idle, claim the future.
    /// Returns true if the caller now owns it (set `RUNNING`).
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update(|curr| {
            let mut next = curr;
            let claimed = curr.0 & LIFECYCLE == 0;
            if claimed {
                next.0 |= RUNNING;
            }
            next.0 |= CANCELLED;
            (claimed, Some(next))
        })
    }

    /// Fast path of dropping a `JoinHandle` of a freshly spawned task.
    pub(crate) fn drop_join_handle_fast(&self) -> Result<(), ()> {
        // Initial state minus the JoinHandle's reference and interest.
        self.val
            .compare_exchange_weak(
                INITIAL,
                (INITIAL - REF_ONE) & !JOIN_INTEREST,
                Release,
                Relaxed,
            )
            .map(drop)
            .map_err(drop)
    }

    pub(crate) fn transition_to_join_handle_dropped(&self) -> JoinDropped {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            let mut next = curr;
            next.0 &= !JOIN_INTEREST;
            if !curr.is_complete() {
                next.0 &= !JOIN_WAKER;
            }
            let out = JoinDropped {
                drop_output: curr.is_complete(),
                drop_waker: !next.is_join_waker_set(),
            };
            (out, Some(next))
        })
    }

    /// Publishes the join waker written by the `JoinHandle`. Fails if the
    /// task completed meanwhile (the handle keeps slot ownership then).
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && !curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 | JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The `JoinHandle` takes the join-waker slot back to replace it.
    pub(crate) fn unset_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested() && curr.is_join_waker_set());
            if curr.is_complete() {
                return (Err(curr), None);
            }
            let next = Snapshot(curr.0 & !JOIN_WAKER);
            (Ok(next), Some(next))
        })
    }

    /// The completer is done with the join waker it woke.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            // A count this high means references are leaked in a loop;
            // continuing could wrap the count and free a live task.
            std::process::abort();
        }
    }

    /// Returns true if this was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn ref_inc(self) -> Snapshot {
        assert!(self.0 <= isize::MAX as usize);
        Snapshot(self.0 + REF_ONE)
    }
    fn ref_dec(self) -> Snapshot {
        assert!(self.ref_count() > 0);
        Snapshot(self.0 - REF_ONE)
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interested", &self.is_join_interested())
            .field("join_waker_set", &self.is_join_waker_set())
            .field("ref_count", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wake_while_running_reschedules_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(), ToIdle::OkNotified);
        // Already notified: further wakes do nothing.
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        // The new Notified has its own reference; the poller still holds
        // the running one until it has handed the task over.
        assert_eq!(s.load().ref_count(), 4);
    }

    #[test]
    fn idle_wake_by_ref_submits_with_new_ref() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert_eq!(s.load().ref_count(), 2);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::Submit);
        assert_eq!(s.load().ref_count(), 3);
        assert!(s.load().is_notified());
    }

    #[test]
    fn cancel_idle_then_run_cancels() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(), ToIdle::Ok);
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::Submit);
        assert_eq!(s.transition_to_running(), ToRunning::Cancel);
        let snap = s.transition_to_complete();
        assert!(snap.is_complete() && !snap.is_running());
        // Aborting a complete task does nothing.
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
    }

    #[test]
    fn cancel_while_running() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(), ToIdle::Cancelled);
        assert!(s.load().is_running());
    }

    #[test]
    fn shutdown_claims_only_idle() {
        let s = State::new();
        assert!(s.transition_to_shutdown()); // idle (queued) task is claimed
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert!(!s.transition_to_shutdown());
        assert_eq!(s.transition_to_idle(), ToIdle::Cancelled);
    }

    #[test]
    fn join_handle_fast_drop() {
        let s = State::new();
        // compare_exchange_weak may fail spuriously: retry.
        while s.drop_join_handle_fast().is_err() {}
        assert!(!s.load().is_join_interested());
        assert_eq!(s.load().ref_count(), 2);
    }
}
