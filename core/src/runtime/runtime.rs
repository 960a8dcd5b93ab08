//! `Runtime`: owns the scheduler, the drivers and the blocking pool.
use super::blocking::BlockingPool;
use super::builder::Builder;
use super::context;
use super::handle::{EnterGuard, Handle};
use super::metrics::RuntimeMetrics;
use super::scheduler::{self, current_thread::CurrentThread, multi_thread::MultiThread};
use crate::task::JoinHandle;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// The runtime: a scheduler with its worker threads, the I/O reactor and
/// timer wheel, and the blocking pool.
///
/// Dropping it shuts everything down: no new tasks are accepted, every
/// pending task's future is dropped on a runtime thread (its `JoinHandle`
/// reports cancellation), worker threads are joined, and running blocking
/// tasks are waited for. [`shutdown_timeout`](Runtime::shutdown_timeout)
/// bounds that last wait. Two places never wait for running blocking
/// tasks, so that no runtime thread waits on one: a thread of this
/// runtime's own blocking pool, and any thread running a runtime's
/// scheduler (inside a task or `block_on`); Tokio panics in the second
/// case, here the running blocking tasks are left to finish on their own
/// (pool threads that have already exited are still joined).
///
/// ```
/// use runtime_core::runtime::Runtime;
/// let rt = Runtime::new().unwrap();
/// let h = rt.spawn(async { 40 + 2 });
/// assert_eq!(rt.block_on(h).unwrap(), 42);
/// ```
pub struct Runtime {
    pub(super) scheduler: Scheduler,
    pub(super) handle: Handle,
    pub(super) blocking_pool: BlockingPool,
    /// Set by `shutdown_timeout`, so `Drop` does not wait again.
    pub(super) shut_down: bool,
}

pub(super) enum Scheduler {
    CurrentThread(CurrentThread),
    MultiThread(MultiThread),
}

impl Runtime {
    /// A multi-thread runtime with default settings (one worker per CPU).
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs `future` to completion on the current thread and returns its
    /// output. On a current-thread runtime this also runs every spawned task;
    /// on a multi-thread runtime they run on the workers meanwhile.
    ///
    /// # Panics
    /// If called from a thread that is already driving a runtime (inside a
    /// task or another `block_on`): that would deadlock it.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match (&self.scheduler, &self.handle.inner) {
            (Scheduler::CurrentThread(s), scheduler::Handle::CurrentThread(h)) => {
                s.block_on(h, future)
            }
            (Scheduler::MultiThread(s), scheduler::Handle::MultiThread(h)) => s.block_on(h, future),
            _ => unreachable!("scheduler and handle flavors always match"),
        }
    }

    /// Runs one turn of a current-thread runtime from the calling thread,
    /// like libuv's `uv_run(loop, UV_RUN_ONCE)`: polls every task that is
    /// ready; if none was, waits in the driver (I/O, timers, remote wakes)
    /// for at most `max_wait`, then polls what became ready. Returns the
    /// number of task polls. This is how an embedding program (a C main
    /// loop, a GUI loop) drives the runtime in slices.
    ///
    /// Returns 0 at once if another thread is inside `block_on`.
    ///
    /// # Panics
    /// On a multi-thread runtime (its workers drive themselves), or when
    /// called from inside a runtime.
    ///
    /// ```
    /// use runtime_core::runtime::Builder;
    /// use std::time::{Duration, Instant};
    /// let rt = Builder::new_current_thread().build().unwrap();
    /// let h = rt.spawn(async { 3 });
    /// assert_eq!(rt.turn(Duration::ZERO), 1);
    /// assert!(h.is_finished());
    /// ```
    #[track_caller]
    pub fn turn(&self, max_wait: Duration) -> usize {
        match (&self.scheduler, &self.handle.inner) {
            (Scheduler::CurrentThread(s), scheduler::Handle::CurrentThread(h)) => {
                s.turn(h, max_wait)
            }
            _ => panic!("`Runtime::turn` is only available on the current-thread runtime"),
        }
    }

    /// Spawns a future onto the runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A cloneable handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Enters the runtime's context on this thread (see [`Handle::enter`]).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// The runtime's metrics.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Shuts down, waiting at most `timeout` for running blocking tasks;
    /// threads still busy after that are left to finish on their own. A
    /// timeout too large to add to the current time (`Duration::MAX`) is
    /// no limit.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        self.shutdown_scheduler(deadline);
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        self.blocking_pool.shutdown(left);
        self.shut_down = true;
    }

    /// Shuts down without waiting for running blocking tasks.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO)
    }

    /// Stops the scheduler; waits for worker threads until `deadline`
    /// (forever if `None`).
    fn shutdown_scheduler(&mut self, deadline: Option<Instant>) {
        match (&self.scheduler, &self.handle.inner) {
            (Scheduler::CurrentThread(s), scheduler::Handle::CurrentThread(h)) => {
                // From inside a runtime, never wait for the core: this very
                // thread may be the one holding it.
                s.shutdown(h, !context::is_entered())
            }
            (Scheduler::MultiThread(s), scheduler::Handle::MultiThread(h)) => {
                s.shutdown(h, deadline)
            }
            _ => unreachable!("scheduler and handle flavors always match"),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        self.shutdown_scheduler(None);
        self.blocking_pool.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.runtime_flavor())
            .finish_non_exhaustive()
    }
}
