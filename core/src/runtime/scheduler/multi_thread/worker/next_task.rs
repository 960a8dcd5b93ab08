//! How a worker finds its next task (steps 1-4 of the parent module's
//! "Where a task comes from": the inject queue's share every
//! `global_queue_interval` ticks, the LIFO slot and the local queue, a
//! batch from the inject queue, stealing), and the searching / parked
//! transitions that bound how many workers steal at once. Only the worker
//! that owns the `Core` runs these.
use super::{Core, Handle, Notif, TARGET_GLOBAL_QUEUE_INTERVAL};
use std::sync::atomic::Ordering;

/// Siblings a worker with yielded tasks of its own looks at for a surplus
/// (see `Core::steal_surplus`).
const SURPLUS_PROBES: usize = 2;

/// How many of a sibling's `queued` tasks a worker with `deferred` yielded
/// tasks of its own takes: half the difference, so both end up with about
/// as much to run; none unless the sibling has at least two more.
fn surplus_share(queued: usize, deferred: usize) -> Option<usize> {
    (queued > deferred + 1).then(|| (queued - deferred) / 2)
}

/// Most tasks a worker takes from the inject queue at once.
const MAX_INJECT_BATCH: usize = 128;

impl Core {
    /// Moves this worker's share of the inject queue (the queue split
    /// between the workers, plus one, as Tokio does) into the local queue
    /// and returns one task. Fewer would send the worker back to the inject
    /// queue (and past its yielded tasks) more often. The share is capped
    /// so that the local queue holds at most `MAX_INJECT_BATCH` tasks
    /// afterwards (at least one is taken): tasks spawned locally later wait
    /// behind at most that many remote ones.
    fn pop_inject_batch(&self, handle: &Handle) -> Option<Notif> {
        let workers = handle.shared.remotes.len().max(1);
        let room = MAX_INJECT_BATCH.saturating_sub(self.run_queue.len());
        let n = (handle.shared.inject.len() / workers + 1).min(room);
        handle.shared.inject.pop_batch_into(&self.run_queue, n)
    }

    /// The next task to poll. Every `global_queue_interval` ticks the
    /// inject queue comes first, so remote work is not starved by local
    /// work; unlike Tokio, which takes one remote task there, the worker
    /// takes its share (see `pop_inject_batch`) behind its queued local
    /// tasks, so a busy worker drains remote spawns (C and Python submit
    /// work that way) at up to a batch per interval instead of one task.
    pub(super) fn next_task(&mut self, handle: &Handle) -> Option<Notif> {
        if self.ticks_since_global >= self.global_queue_interval {
            self.ticks_since_global = 0;
            if let Some(t) = self.pop_inject_batch(handle) {
                return Some(t);
            }
        }
        if let Some(t) = self.lifo_slot.take() {
            return Some(t);
        }
        if let Some(t) = self.run_queue.pop() {
            return Some(t);
        }
        if handle.shared.inject.is_empty() {
            return None;
        }
        self.pop_inject_batch(handle)
    }

    pub(super) fn steal_work(&mut self, handle: &Handle) -> Option<Notif> {
        if !self.transition_to_searching(handle) {
            return None;
        }
        let remotes = &handle.shared.remotes;
        let n = remotes.len();
        let start = self.rng.usize(..n);
        for i in 0..n {
            let j = (start + i) % n;
            if j == self.index {
                continue;
            }
            let before = self.run_queue.len();
            if let Some(t) = remotes[j].steal.steal_into(&self.run_queue) {
                self.stats.steal_operations += 1;
                self.stats.steals += 1 + (self.run_queue.len() - before) as u64;
                return Some(t);
            }
        }
        self.pop_inject_batch(handle)
    }

    /// Stealing by a worker that still has `deferred` yielded tasks of its
    /// own to run: it is not idle, so it does not become a searcher, and it
    /// takes only a surplus: from one of up to `SURPLUS_PROBES` random
    /// siblings whose queue holds more than `deferred + 1` tasks, half the
    /// difference. Balanced workers that all yield (every queue about as
    /// long as every deferred list) so keep their tasks and their caches,
    /// where stealing half of whichever sibling is mid-pass (as Tokio does)
    /// moves tasks between cores on every pass; an unbalanced share still
    /// evens out, a pass at a time.
    ///
    /// A sibling whose published tick has not moved since this worker last
    /// looked is stuck in one poll (a task that blocks), so whatever waits
    /// in its queue is taken as an idle worker would take it (half).
    pub(super) fn steal_surplus(&mut self, handle: &Handle, deferred: usize) -> Option<Notif> {
        let remotes = &handle.shared.remotes;
        let n = remotes.len();
        if n < 2 {
            return None;
        }
        // Distinct siblings: a second look at the same one in the same
        // pass would find its tick unchanged.
        let first = self.rng.usize(..n - 1);
        for k in 0..SURPLUS_PROBES.min(n - 1) {
            let j = (self.index + 1 + (first + k) % (n - 1)) % n;
            let queued = remotes[j].steal.len();
            if queued == 0 {
                continue;
            }
            let tick = remotes[j].progress.0.load(Ordering::Relaxed);
            let stuck = std::mem::replace(&mut self.seen[j], tick) == tick;
            let limit = if stuck {
                queued
            } else {
                match surplus_share(queued, deferred) {
                    Some(limit) => limit,
                    None => continue,
                }
            };
            let before = self.run_queue.len();
            if let Some(t) = remotes[j].steal.steal_into_limit(&self.run_queue, limit) {
                self.stats.steal_operations += 1;
                self.stats.steals += 1 + (self.run_queue.len() - before) as u64;
                return Some(t);
            }
        }
        None
    }

    fn transition_to_searching(&mut self, handle: &Handle) -> bool {
        if !self.is_searching {
            self.is_searching = handle.shared.idle.transition_worker_to_searching();
        }
        self.is_searching
    }

    pub(super) fn transition_from_searching(&mut self, handle: &Handle) {
        if !self.is_searching {
            return;
        }
        self.is_searching = false;
        if handle.shared.idle.transition_worker_from_searching() {
            // We were the last searcher and found work: there may be more,
            // so hand the search to someone else.
            handle.notify_parked();
        }
    }

    fn has_tasks(&self) -> bool {
        self.lifo_slot.is_some() || !self.run_queue.is_empty()
    }

    pub(super) fn should_notify_others(&self) -> bool {
        if self.is_searching {
            return false;
        }
        usize::from(self.lifo_slot.is_some()) + self.run_queue.len() > 1
    }

    /// Returns false if the worker has work and must not park.
    pub(super) fn transition_to_parked(&mut self, handle: &Handle) -> bool {
        if self.has_tasks() || self.is_shutdown {
            return false;
        }
        let last = handle
            .shared
            .idle
            .transition_worker_to_parked(self.index, self.is_searching);
        self.is_searching = false;
        if last {
            handle.notify_if_work_pending();
        }
        true
    }

    /// Returns true if the worker should leave the park loop.
    pub(super) fn transition_from_parked(&mut self, handle: &Handle) -> bool {
        if self.has_tasks() {
            self.is_searching = !handle.shared.idle.unpark_worker_by_id(self.index);
            return true;
        }
        if handle.shared.idle.is_parked(self.index) {
            return false;
        }
        self.is_searching = true;
        true
    }

    /// Sets the injection-queue interval so that it is checked about every
    /// `TARGET_GLOBAL_QUEUE_INTERVAL` of polling, from the mean tick time
    /// since the last tuning (as Tokio does; a fixed interval lets remote
    /// work wait 61 long polls when every worker is busy).
    fn tune_interval(&mut self, handle: &Handle) {
        if handle.shared.config.global_queue_interval.is_some() || self.tune_ticks < 8 {
            return;
        }
        let elapsed = self.tune_start.elapsed();
        let mean_ns = (elapsed.as_nanos() / u128::from(self.tune_ticks)).max(1);
        let target = TARGET_GLOBAL_QUEUE_INTERVAL.as_nanos() / mean_ns;
        self.global_queue_interval = target.clamp(2, 127) as u32;
        self.tune_start = std::time::Instant::now();
        self.tune_ticks = 0;
    }

    pub(super) fn maintenance(&mut self, handle: &Handle) {
        self.tune_interval(handle);
        self.flush_stats(handle);
        if !self.is_shutdown {
            self.is_shutdown = handle.shared.is_shutdown.load(Ordering::Acquire);
        }
    }

    pub(super) fn flush_stats(&mut self, handle: &Handle) {
        let m = &handle.worker_metrics[self.index];
        let s = std::mem::take(&mut self.stats);
        m.add(&m.polls, s.polls);
        m.add(&m.steals, s.steals);
        m.add(&m.steal_operations, s.steal_operations);
        m.add(&m.local_schedule, s.local_schedule);
    }

    /// Drops every queued task (the scheduler is shut down).
    pub(super) fn drain(&mut self) {
        drop(self.lifo_slot.take());
        while let Some(t) = self.run_queue.pop() {
            drop(t);
        }
        self.park = None;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::surplus_share;

    #[test]
    fn surplus_share_evens_out_two_workers() {
        // Balanced, or one short: nothing moves.
        assert_eq!(surplus_share(50, 50), None);
        assert_eq!(surplus_share(51, 50), None);
        assert_eq!(surplus_share(0, 0), None);
        // Two more: one moves, and both then have the same.
        assert_eq!(surplus_share(52, 50), Some(1));
        assert_eq!(surplus_share(2, 0), Some(1));
        // 100 queued against 20 deferred: 40 move, leaving 60 / 60.
        assert_eq!(surplus_share(100, 20), Some(40));
    }
}
