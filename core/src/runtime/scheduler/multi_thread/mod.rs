//! The multi-thread, work-stealing scheduler (the default flavor).
//!
//! See `worker.rs` for the scheduling loop and shutdown protocol,
//! `idle.rs` for who is woken when work arrives, `park.rs` for how idle
//! workers sleep and which one drives I/O and timers, and `queue.rs` for
//! the run queues.
pub(crate) mod idle;
pub(crate) mod park;
mod queue;
mod worker;

pub(crate) use worker::Config;

use crate::locks::Mutex;
use crate::runtime::blocking::Spawner;
use crate::runtime::context;
use crate::runtime::driver::{self, Driver};
use crate::runtime::metrics::{SchedulerMetrics, WorkerMetrics};
use crate::task::list::OwnedTasks;
use crate::task::{Id, JoinHandle};
use std::fmt;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// Owned by the `Runtime`: the worker threads.
pub(crate) struct MultiThread {
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Shared handle; tasks hold it as their scheduler.
pub(crate) struct Handle {
    pub(super) shared: worker::Shared,
    pub(crate) driver: driver::Handle,
    pub(crate) blocking_spawner: Spawner,
    pub(crate) scheduler_metrics: SchedulerMetrics,
    pub(crate) worker_metrics: Box<[WorkerMetrics]>,
}

/// What starting the worker threads needs.
pub(crate) struct ThreadCfg {
    pub(crate) name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
}

impl MultiThread {
    /// Builds the scheduler and starts `n` worker threads.
    pub(crate) fn new(
        n: usize,
        driver: Driver,
        driver_handle: driver::Handle,
        blocking_spawner: Spawner,
        config: Config,
        threads: ThreadCfg,
        seed: u64,
    ) -> std::io::Result<(MultiThread, Arc<Handle>)> {
        let shared_driver = Arc::new(park::SharedDriver::new(driver));
        let (cores, remotes) = worker::build(n, shared_driver.clone(), seed, &config);
        let handle = Arc::new(Handle {
            shared: worker::Shared {
                remotes,
                inject: queue::Inject::new(),
                idle: idle::Idle::new(n),
                owned: OwnedTasks::new(n * 4),
                shutdown_cores: Mutex::new(Vec::with_capacity(n)),
                alive: Mutex::new(n),
                all_exited: crate::locks::Condvar::new(),
                is_shutdown: AtomicBool::new(false),
                driver: shared_driver,
                config,
            },
            driver: driver_handle,
            blocking_spawner,
            scheduler_metrics: SchedulerMetrics::default(),
            worker_metrics: (0..n).map(|_| WorkerMetrics::default()).collect(),
        });
        let mut joins = Vec::with_capacity(n);
        let mut cores = cores.into_iter();
        while let Some(core) = cores.next() {
            let h = handle.clone();
            // The core travels into the thread; on failure it comes back
            // through this slot so it can be shut down with the others.
            let slot = Arc::new(Mutex::new(Some(core)));
            let thread_slot = slot.clone();
            // A bad thread name fails like an OS error (see `thread_builder`).
            let spawned =
                crate::runtime::builder::thread_builder((threads.name)(), threads.stack_size)
                    .and_then(|b| {
                        b.spawn(move || {
                            let core = thread_slot.lock().take().expect("worker core");
                            worker::run(h, core)
                        })
                    });
            match spawned {
                Ok(j) => joins.push(j),
                Err(e) => {
                    // Hand the cores that have no thread to the shutdown
                    // protocol, stop the started workers, and report.
                    let mut orphans: Vec<_> = slot.lock().take().into_iter().collect();
                    orphans.extend(cores);
                    handle.signal_shutdown();
                    handle.adopt_orphan_cores(orphans);
                    for j in joins {
                        let _ = j.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok((
            MultiThread {
                threads: Mutex::new(joins),
            },
            handle,
        ))
    }

    /// Blocks this (non-worker) thread on `future`; tasks run on workers.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, handle: &Arc<Handle>, future: F) -> F::Output {
        let sched = crate::runtime::scheduler::Handle::MultiThread(handle.clone());
        let _enter = context::enter_runtime(&sched);
        match crate::runtime::park::block_on(future, None) {
            Ok(v) => v,
            Err(()) => unreachable!("block_on without a timeout cannot time out"),
        }
    }

    /// Signals shutdown and, unless called from a runtime thread, waits
    /// until `deadline` (forever if `None`) for the workers to finish
    /// cancelling their tasks and exit. Workers still busy at the deadline
    /// (a task stuck in a long synchronous poll) are detached: they finish
    /// the shutdown protocol on their own when that poll returns.
    pub(crate) fn shutdown(&self, handle: &Handle, deadline: Option<Instant>) {
        handle.signal_shutdown();
        if context::is_entered() {
            // Joining from a thread that drives a runtime could deadlock.
            return;
        }
        if !handle.wait_workers_exited(deadline) {
            // Detach: dropping the join handles lets the threads run on.
            self.threads.lock().clear();
            return;
        }
        let joins = std::mem::take(&mut *self.threads.lock());
        for j in joins {
            let _ = j.join();
        }
    }
}

impl Handle {
    pub(crate) fn spawn<F>(me: &Arc<Handle>, future: F, id: Id) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = me.shared.owned.bind(future, me.clone(), id);
        me.scheduler_metrics.inc_spawned();
        if let Some(n) = notified {
            me.schedule_task(n, false);
        }
        join
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    pub(crate) fn injection_queue_depth(&self) -> usize {
        self.shared.inject.len()
    }

    pub(crate) fn worker_local_queue_depth(&self, worker: usize) -> usize {
        self.shared.remotes[worker].steal.len()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("multi_thread::Handle")
            .field("workers", &self.worker_metrics.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MultiThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiThread").finish_non_exhaustive()
    }
}
