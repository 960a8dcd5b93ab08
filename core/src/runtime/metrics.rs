//! Runtime metrics: counters the schedulers bump with relaxed atomics, and
//! the public [`RuntimeMetrics`] view over them.
//!
//! Counters are monotonic and only approximately consistent with each other
//! (each is read independently); they exist for benchmarks, dashboards and
//! tests that check behaviour (e.g. "steals happened"), not for correctness.
use super::scheduler;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Scheduler-wide counters.
#[derive(Debug, Default)]
pub(crate) struct SchedulerMetrics {
    pub(crate) spawned: AtomicU64,
    pub(crate) remote_schedule: AtomicU64,
}

/// Per-worker counters. Aligned to 128 bytes (two cache lines, as the
/// adjacent-line prefetcher pulls pairs) so that workers flushing their own
/// counters do not invalidate each other's lines: unpadded, six counters
/// put two workers in every line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) steal_operations: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) local_schedule: AtomicU64,
}

impl SchedulerMetrics {
    pub(crate) fn inc_spawned(&self) {
        self.spawned.fetch_add(1, Relaxed);
    }
    pub(crate) fn inc_remote_schedule(&self) {
        self.remote_schedule.fetch_add(1, Relaxed);
    }
}

impl WorkerMetrics {
    pub(crate) fn add(&self, c: &AtomicU64, n: u64) {
        if n != 0 {
            c.fetch_add(n, Relaxed);
        }
    }

    /// Adds one to `c`, a counter that only the thread holding the
    /// worker's core writes (the core's hand-off orders one holder's
    /// writes before the next's): a load and a store, no read-modify-write
    /// on the scheduler's hot path.
    pub(crate) fn bump(c: &AtomicU64) {
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }
}

/// A view of a runtime's counters; see [`Runtime::metrics`](super::Runtime::metrics).
///
/// ```
/// let rt = runtime_core::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     runtime_core::spawn(async {}).await.unwrap();
/// });
/// let m = rt.metrics();
/// assert_eq!(m.num_workers(), 2);
/// assert!(m.spawned_tasks_count() >= 1);
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    handle: scheduler::Handle,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: scheduler::Handle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    /// Number of worker threads (1 for the current-thread flavor).
    pub fn num_workers(&self) -> usize {
        self.handle.num_workers()
    }

    /// Tasks spawned since the runtime was built (blocking tasks excluded).
    pub fn spawned_tasks_count(&self) -> u64 {
        self.handle.scheduler_metrics().spawned.load(Relaxed)
    }

    /// Tasks spawned and not yet completed.
    pub fn num_alive_tasks(&self) -> usize {
        self.handle.num_alive_tasks()
    }

    /// Tasks scheduled from outside the runtime's threads.
    pub fn remote_schedule_count(&self) -> u64 {
        self.handle
            .scheduler_metrics()
            .remote_schedule
            .load(Relaxed)
    }

    /// Tasks waiting in the global (injection) queue.
    pub fn injection_queue_depth(&self) -> usize {
        self.handle.injection_queue_depth()
    }

    /// Tasks waiting in `worker`'s local queue.
    pub fn worker_local_queue_depth(&self, worker: usize) -> usize {
        self.handle.worker_local_queue_depth(worker)
    }

    /// Task polls performed by `worker`.
    pub fn worker_poll_count(&self, worker: usize) -> u64 {
        self.handle.worker_metrics(worker).polls.load(Relaxed)
    }

    /// Tasks `worker` stole from siblings.
    pub fn worker_steal_count(&self, worker: usize) -> u64 {
        self.handle.worker_metrics(worker).steals.load(Relaxed)
    }

    /// Successful steal operations by `worker` (each may move many tasks).
    pub fn worker_steal_operations(&self, worker: usize) -> u64 {
        self.handle
            .worker_metrics(worker)
            .steal_operations
            .load(Relaxed)
    }

    /// Times `worker` parked (went to sleep for lack of work).
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.handle.worker_metrics(worker).parks.load(Relaxed)
    }

    /// Times `worker` was woken by another thread to look for work.
    pub fn worker_unpark_count(&self, worker: usize) -> u64 {
        self.handle.worker_metrics(worker).unparks.load(Relaxed)
    }

    /// Tasks `worker` scheduled onto its own queue.
    pub fn worker_local_schedule_count(&self, worker: usize) -> u64 {
        self.handle
            .worker_metrics(worker)
            .local_schedule
            .load(Relaxed)
    }

    /// Sum of [`worker_poll_count`](Self::worker_poll_count) over workers.
    pub fn total_polls(&self) -> u64 {
        (0..self.num_workers())
            .map(|w| self.worker_poll_count(w))
            .sum()
    }

    /// Sum of [`worker_steal_count`](Self::worker_steal_count) over workers.
    pub fn total_steals(&self) -> u64 {
        (0..self.num_workers())
            .map(|w| self.worker_steal_count(w))
            .sum()
    }

    /// Sum of [`worker_park_count`](Self::worker_park_count) over workers.
    pub fn total_parks(&self) -> u64 {
        (0..self.num_workers())
            .map(|w| self.worker_park_count(w))
            .sum()
    }

    /// Threads currently in the blocking pool.
    pub fn num_blocking_threads(&self) -> usize {
        self.handle.blocking_spawner().num_threads()
    }

    /// Blocking-pool threads waiting for work.
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.handle.blocking_spawner().num_idle_threads()
    }

    /// Blocking tasks queued and not yet started.
    pub fn blocking_queue_depth(&self) -> usize {
        self.handle.blocking_spawner().queue_depth()
    }
}
