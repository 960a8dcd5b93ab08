//! The `Schedule` implementation of blocking tasks: they run once on a pool
//! thread and are never re-queued.
//!
//! On a runtime whose clock is paused, a blocking task in flight keeps the
//! clock from auto-advancing (its result may be what the test waits for);
//! the inhibition is lifted exactly once, at completion or drop. Lifting
//! it unparks the driver when the clock may now auto-advance: a runtime
//! asleep in the driver until its next timer (auto-advance was inhibited)
//! would otherwise sleep that long in real time once a detached blocking
//! task finishes, since no waker fires for it.
use crate::runtime::scheduler::{self, current_thread};
use crate::task::{Notified, Schedule, Task};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(crate) struct BlockingSchedule {
    /// The current-thread scheduler whose paused clock this task inhibits,
    /// and whether it still does.
    clock: Option<(Arc<current_thread::Handle>, AtomicBool)>,
}

impl BlockingSchedule {
    pub(crate) fn new(handle: &scheduler::Handle) -> BlockingSchedule {
        let clock = match handle {
            scheduler::Handle::CurrentThread(h) => {
                h.driver.clock.inhibit_auto_advance();
                Some((h.clone(), AtomicBool::new(true)))
            }
            scheduler::Handle::MultiThread(_) => None,
        };
        BlockingSchedule { clock }
    }

    /// A schedule that inhibits no clock, for the loom model's jobs.
    #[cfg(all(loom, test))]
    pub(crate) fn none() -> BlockingSchedule {
        BlockingSchedule { clock: None }
    }

    fn allow(&self) {
        if let Some((h, inhibiting)) = &self.clock {
            if inhibiting.swap(false, Ordering::AcqRel) {
                h.driver.clock.allow_auto_advance();
                if h.driver.clock.can_auto_advance() {
                    h.driver.unpark();
                }
            }
        }
    }
}

impl Schedule for BlockingSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        self.allow();
        None
    }

    fn schedule(&self, task: Notified<Self>) {
        // A blocking task never returns Pending and an abort of a queued one
        // only sets CANCELLED, so this is unreachable in practice; dropping
        // the reference is the safe answer if it ever happens.
        drop(task);
    }
}

impl Drop for BlockingSchedule {
    fn drop(&mut self) {
        self.allow();
    }
}
