//! The `Schedule` implementation of blocking tasks: they run once on a pool
//! thread and are never re-queued.
//!
//! On a runtime whose clock is paused, a blocking task in flight keeps the
//! clock from auto-advancing (its result may be what the test waits for);
//! the inhibition is lifted exactly once, at completion or drop.
use crate::runtime::scheduler;
use crate::task::{Notified, Schedule, Task};
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) struct BlockingSchedule {
    /// Set while this task inhibits the paused clock's auto-advance.
    clock: Option<(crate::time::Clock, AtomicBool)>,
}

impl BlockingSchedule {
    pub(crate) fn new(handle: &scheduler::Handle) -> BlockingSchedule {
        let clock = match handle {
            scheduler::Handle::CurrentThread(h) => {
                let clock = h.driver.clock.clone();
                clock.inhibit_auto_advance();
                Some((clock, AtomicBool::new(true)))
            }
            scheduler::Handle::MultiThread(_) => None,
        };
        BlockingSchedule { clock }
    }

    fn allow(&self) {
        if let Some((clock, inhibiting)) = &self.clock {
            if inhibiting.swap(false, Ordering::AcqRel) {
                clock.allow_auto_advance();
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
