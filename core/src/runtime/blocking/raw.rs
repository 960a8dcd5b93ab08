//! [`RawBlockingWork`]: a blocking-pool item whose state lives in storage
//! the caller owns, so queueing it allocates nothing.
//!
//! [`BlockingWork`](super::BlockingWork) items are reference-counted
//! (`Arc`), one allocation per item. An embedder whose caller already
//! provides the item's memory (the C ABI's `rt_work`, as libuv's
//! `uv_work_t`) queues a pointer to it and two functions instead, as a
//! `RawWaker` is a pointer and a table of functions.
//!
//! Invariants: exactly one of `run` / `cancel` is called, once, on the
//! item's data: by the pool, or, for an item dropped without being queued,
//! `cancel` by the drop. A panic in either is caught on the calling thread
//! and reported on stderr.
use super::work::guarded;
use std::fmt;
use std::mem::ManuallyDrop;

const RUN_PANICKED: &str = "a RawBlockingWork run function panicked";
const CANCEL_PANICKED: &str = "a RawBlockingWork cancel function panicked";

/// A pointer to a caller-owned work item and the two functions that finish
/// it: `run` on a blocking-pool thread, or `cancel` when it will never run
/// (the runtime shut down first, no pool thread could be started, or the
/// value was dropped without being queued). Exactly one of the two is
/// called, once. Queue it with
/// [`Handle::spawn_blocking_raw`](crate::runtime::Handle::spawn_blocking_raw).
pub struct RawBlockingWork {
    data: *mut (),
    run: unsafe fn(*mut ()),
    cancel: unsafe fn(*mut (), CancelReason),
}

/// Why a [`RawBlockingWork`] item is cancelled instead of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelReason {
    /// The runtime shut down before a pool thread reached the item.
    Shutdown,
    /// The pool had no thread and could not start one.
    NoThreads,
    /// The `RawBlockingWork` value was dropped without being queued.
    Dropped,
}

// SAFETY: `RawBlockingWork::new`'s contract requires that `run(data)` or
// `cancel(data)` may be called from any thread.
unsafe impl Send for RawBlockingWork {}

impl RawBlockingWork {
    /// Wraps `data` and the functions that finish it.
    ///
    /// # Safety
    /// Calling `run(data)` once, or else `cancel(data, reason)` once, from any
    /// thread and at any time until one of them is called, must be sound:
    /// whatever `data` points to stays valid (and is not used by anyone in
    /// a way that conflicts with them) until then.
    pub unsafe fn new(
        data: *mut (),
        run: unsafe fn(*mut ()),
        cancel: unsafe fn(*mut (), CancelReason),
    ) -> RawBlockingWork {
        RawBlockingWork { data, run, cancel }
    }

    /// Runs the item (on a pool thread).
    pub(crate) fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `new`'s contract; `this` is consumed without its drop, so
        // neither function is called again for this value.
        guarded(RUN_PANICKED, || unsafe { (this.run)(this.data) });
    }

    /// Finishes the item without running it.
    pub(crate) fn cancel(self, reason: CancelReason) {
        let this = ManuallyDrop::new(self);
        // SAFETY: as in `run`.
        guarded(CANCEL_PANICKED, || unsafe {
            (this.cancel)(this.data, reason)
        });
    }
}

impl Drop for RawBlockingWork {
    fn drop(&mut self) {
        // Never queued (or dropped by a path that neither ran nor cancelled
        // it): it will not run, so it is cancelled, keeping "exactly one".
        // SAFETY: `new`'s contract; a value that ran or was cancelled is
        // consumed without reaching this drop.
        guarded(CANCEL_PANICKED, || unsafe {
            (self.cancel)(self.data, CancelReason::Dropped)
        });
    }
}

impl fmt::Debug for RawBlockingWork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawBlockingWork")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}
