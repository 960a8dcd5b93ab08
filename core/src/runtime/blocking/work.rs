//! Work items for the blocking pool that carry their own state: no task
//! cell, no `JoinHandle`, one allocation (the caller's `Arc`) per item.
//!
//! [`Handle::spawn_blocking`](crate::runtime::Handle::spawn_blocking) wraps
//! a closure in a task cell so that its result, waker and cancellation go
//! through the usual `JoinHandle`. An embedder that already keeps its own
//! completion state (the C ABI's `rt_task`, a thread-pool future) pays for
//! that machinery twice. [`BlockingWork`] is the lower layer, as libuv's
//! `uv_queue_work` is: the pool calls [`BlockingWork::run`] once on one of
//! its threads, or [`BlockingWork::cancel`] once instead when the item
//! cannot run (the pool shut down first, or no thread could be started).
//!
//! Invariants: exactly one of `run` / `cancel` is called per queued item,
//! once; a panic in either is caught on the pool thread (the thread
//! survives) and reported on stderr. On a current-thread runtime whose
//! clock is paused, an item keeps the clock from auto-advancing from the
//! moment it is queued until `run` or `cancel` returned, as blocking tasks
//! do.
use super::{BlockingSchedule, CancelReason, RawBlockingWork};
use crate::task::Notified;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// A unit of blocking work with its own completion state; queue it with
/// [`Handle::spawn_blocking_work`](crate::runtime::Handle::spawn_blocking_work).
///
/// Exactly one of the two methods is called, once.
pub trait BlockingWork: Send + Sync + 'static {
    /// Runs the work, on a blocking-pool thread (where blocking is allowed
    /// and the runtime is entered).
    fn run(self: Arc<Self>);

    /// Called instead of [`run`](BlockingWork::run) when the item will never
    /// run: the runtime shut down before a pool thread reached it, or the
    /// pool had no thread and could not start one. Called on a pool thread,
    /// on the thread shutting the runtime down, or on the thread that
    /// queued the item.
    fn cancel(self: Arc<Self>);
}

/// What the pool's queue holds.
pub(crate) enum Job {
    /// A `spawn_blocking` task.
    Task(Notified<BlockingSchedule>),
    /// A [`BlockingWork`] item; the schedule value only holds the paused
    /// clock's auto-advance inhibition until the item is done.
    Work(Arc<dyn BlockingWork>, BlockingSchedule),
    /// A [`RawBlockingWork`] item (the schedule value as for `Work`).
    Raw(RawBlockingWork, BlockingSchedule),
}

impl Job {
    /// Runs the job on a pool thread.
    pub(crate) fn run(self) {
        match self {
            Job::Task(task) => task.run(),
            Job::Work(work, _inhibit) => guarded(RUN_PANICKED, || {
                crate::task::coop::with_unconstrained(|| work.run())
            }),
            Job::Raw(work, _inhibit) => {
                crate::task::coop::with_unconstrained(|| work.run());
            }
        }
    }

    /// The job will never run: cancel it.
    pub(crate) fn shutdown(self, reason: CancelReason) {
        match self {
            Job::Task(task) => task.shutdown(),
            Job::Work(work, _inhibit) => guarded(CANCEL_PANICKED, || work.cancel()),
            Job::Raw(work, _inhibit) => work.cancel(reason),
        }
    }
}

const RUN_PANICKED: &str = "a BlockingWork::run panicked; the item was dropped";
const CANCEL_PANICKED: &str = "a BlockingWork::cancel panicked; the item was dropped";

/// Runs a work item's method, keeping a panic from unwinding into the pool
/// (reported on stderr as `runtime: {on_panic}`).
pub(super) fn guarded(on_panic: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        eprintln!("runtime: {on_panic}");
    }
}
