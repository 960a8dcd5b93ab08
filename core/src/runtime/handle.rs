//! `Handle`: a cloneable reference to a runtime, usable from any thread.
use super::builder::RuntimeFlavor;
use super::context::{self, TryCurrentError};
use super::metrics::RuntimeMetrics;
use super::{driver, scheduler, BlockingWork, RawBlockingWork};
use crate::task::{Id, JoinHandle};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A cloneable handle to a runtime: spawn onto it from any thread, or enter
/// its context. It does not keep the runtime alive: once the `Runtime` is
/// dropped, spawned tasks are cancelled at once.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

/// Returned by [`Handle::enter`]: the runtime stays the current one for
/// this thread until it is dropped.
#[must_use = "the runtime is only entered while the guard lives"]
pub struct EnterGuard<'a> {
    _guard: context::SetCurrentGuard,
    _handle: std::marker::PhantomData<&'a Handle>,
}

impl Handle {
    /// The handle of the runtime this thread is in (inside `block_on`, a
    /// task, a blocking-pool thread, or an `enter` guard).
    ///
    /// # Panics
    /// Outside any runtime context; see [`Handle::try_current`].
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("`Handle::current()` {e}"),
        }
    }

    /// Like [`Handle::current`], but returns an error instead of panicking.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(|h| Handle { inner: h.clone() })
    }

    /// Whether `self` and `other` are handles of the same runtime.
    ///
    /// ```
    /// let a = runtime_core::runtime::Builder::new_current_thread().build().unwrap();
    /// let b = runtime_core::runtime::Builder::new_current_thread().build().unwrap();
    /// assert!(a.handle().same_runtime(&a.handle().clone()));
    /// assert!(!a.handle().same_runtime(b.handle()));
    /// ```
    pub fn same_runtime(&self, other: &Handle) -> bool {
        match (&self.inner, &other.inner) {
            (scheduler::Handle::CurrentThread(a), scheduler::Handle::CurrentThread(b)) => {
                Arc::ptr_eq(a, b)
            }
            (scheduler::Handle::MultiThread(a), scheduler::Handle::MultiThread(b)) => {
                Arc::ptr_eq(a, b)
            }
            _ => false,
        }
    }

    /// Spawns a future onto this runtime, from any thread.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, Id::next())
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.blocking_spawner().spawn_blocking(&self.inner, f)
    }

    /// Queues a [`BlockingWork`] item on this runtime's blocking pool: the
    /// pool calls its `run` once on a pool thread, or its `cancel` instead
    /// if the runtime shuts down before a thread reaches it (or no pool
    /// thread can be started; then `cancel` runs before this returns).
    ///
    /// This is the lower layer under [`spawn_blocking`](Handle::spawn_blocking)
    /// for callers that keep their own completion state: no task cell, no
    /// `JoinHandle`, no allocation besides the caller's `Arc`.
    pub fn spawn_blocking_work(&self, work: Arc<dyn BlockingWork>) {
        self.inner.blocking_spawner().spawn_work(&self.inner, work)
    }

    /// Queues a [`RawBlockingWork`] item on this runtime's blocking pool:
    /// its `run` is called once on a pool thread, or its `cancel` instead
    /// if the runtime shuts down before a thread reaches it (or no pool
    /// thread can be started; then `cancel` runs before this returns).
    ///
    /// The allocation-free form of
    /// [`spawn_blocking_work`](Handle::spawn_blocking_work), for items whose
    /// memory the caller owns.
    pub fn spawn_blocking_raw(&self, work: RawBlockingWork) {
        self.inner.blocking_spawner().spawn_raw(&self.inner, work)
    }

    /// Waits until the runtime has been shut down and no blocking work is
    /// queued, running or being cancelled on its pool (a `spawn_blocking`
    /// closure, a queued item's `run`/`cancel`), for at most `timeout`
    /// (`None`: no limit). Returns whether that happened. Work the calling
    /// thread is itself running does not count; idle pool threads still
    /// exiting do not either.
    ///
    /// A shutdown with a timeout (`Runtime::shutdown_timeout`) leaves
    /// blocking work that is still running to finish on detached threads;
    /// an embedder that must know when all of it is over (before freeing
    /// what it uses, or unloading the code it calls) waits here.
    pub fn wait_blocking_idle(&self, timeout: Option<std::time::Duration>) -> bool {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        self.inner.blocking_spawner().wait_idle(deadline)
    }

    /// Whether the calling thread is running blocking work of this runtime
    /// (inside a `spawn_blocking` closure or a queued item's `run` or
    /// `cancel`). A thread there must not wait for the runtime's blocking
    /// work to end: it would wait for itself.
    pub fn is_in_blocking_work(&self) -> bool {
        self.inner.blocking_spawner().in_job()
    }

    /// Blocks the current thread on `future`, with this runtime entered (so
    /// `spawn`, timers and I/O inside it use this runtime). On a
    /// current-thread runtime, spawned tasks only make progress while some
    /// thread is inside `Runtime::block_on`.
    ///
    /// # Panics
    /// When called from a thread that is driving a runtime (a worker, or
    /// inside another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter_runtime(&self.inner);
        match super::park::block_on(future, None) {
            Ok(v) => v,
            Err(()) => unreachable!("no timeout was given"),
        }
    }

    /// Makes this runtime the current one for this thread until the guard
    /// is dropped, so `runtime_core::spawn` and timers work from plain
    /// threads.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::set_current(&self.inner),
            _handle: std::marker::PhantomData,
        }
    }

    /// The runtime's metrics.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.inner.clone())
    }

    /// The scheduler flavor of this runtime.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.inner {
            scheduler::Handle::CurrentThread(_) => RuntimeFlavor::CurrentThread,
            scheduler::Handle::MultiThread(_) => RuntimeFlavor::MultiThread,
        }
    }

    /// The driver handle (I/O reactor, timer wheel, clock).
    pub(crate) fn driver(&self) -> &driver::Handle {
        self.inner.driver()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.runtime_flavor())
            .finish()
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}
