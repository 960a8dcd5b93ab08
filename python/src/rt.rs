//! `runtime.Runtime`: owns a `runtime_core` runtime and submits Python work
//! to it.
//!
//! # Design
//! - `state` holds the core runtime until `shutdown()`; every method takes
//!   a [`Handle`] clone out of it (raising `RuntimeError` once it is shut
//!   down) and never holds the lock while Rust waits or Python runs.
//! - The `current_thread` flavor gets one driver thread that runs the
//!   scheduler (`block_on` of a stop signal); `multi_thread` drives itself.
//! - The process id is recorded at creation: in a forked child the
//!   runtime's threads do not exist, so every use raises `RuntimeError`
//!   and dropping it leaks it instead of joining threads that will never
//!   answer.
//! - Shutdown and drop release the GIL while they wait: runtime threads
//!   may need it to finish a Python call or to cancel a task. Both stop
//!   the fd watchers (`FdWatch.cancelled()` is then true) and, first,
//!   drop every pending timer and fd callback, with the GIL held.
//! - Garbage collection: the exception handler and the pending timer and
//!   fd callbacks (the registry of [`crate::callbacks`]) are visited, so
//!   a runtime that only its own callbacks refer to is collected;
//!   `__clear__` drops them, and the drop then shuts the runtime down.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use runtime_core::locks::Mutex;
use runtime_core::runtime::{Handle, Runtime as CoreRuntime};

use crate::callbacks::Callbacks;
use crate::cell::CancelOnDrop;
use crate::fd::{self, FdWatch};
use crate::off_gil::Refs;
use crate::task::{Job, Task};
use crate::timer::{self, TimerHandle};

mod live;
use live::{shutdown_on_helper_thread, Live};

/// An async runtime: worker threads, a blocking pool, timers and an I/O
/// reactor, shared by every task, timer and fd watcher created from it.
///
/// `Runtime(workers=None, max_blocking=None, flavor="multi_thread", *,
/// thread_name=None)`: `thread_name` names every thread of the runtime
/// (workers, blocking pool, a `current_thread` runtime's driver; default
/// `runtime-worker` / `runtime-driver`).
#[pyclass(frozen, weakref, subclass, module = "runtime", name = "Runtime")]
pub(crate) struct PyRuntime {
    state: Mutex<Option<Live>>,
    /// `state.is_some()`, readable without the lock; written only under
    /// it (by [`Self::take_live`] and [`Self::restore_live`]).
    open: AtomicBool,
    /// `fork::generation()` at creation: the runtime's threads exist only
    /// in that process.
    generation: u64,
    flavor: &'static str,
    /// The exception handler and the pending timer and fd callbacks.
    callbacks: Arc<Callbacks>,
    fds: Arc<crate::fd::FdTable>,
}

impl PyRuntime {
    /// A handle to the live runtime, or `RuntimeError`.
    pub(crate) fn handle(&self) -> PyResult<Handle> {
        self.check_process()?;
        match &*self.state.lock() {
            Some(live) => Ok(live.rt.handle().clone()),
            None => Err(shut_down_error()),
        }
    }

    /// What [`Self::handle`] checks, without the lock or the handle.
    fn check_open(&self) -> PyResult<()> {
        self.check_process()?;
        if !self.open.load(Ordering::Acquire) {
            return Err(shut_down_error());
        }
        Ok(())
    }

    /// Takes the live runtime out (shutdown begins); `None` if it is gone.
    fn take_live(&self) -> Option<Live> {
        let mut state = self.state.lock();
        self.open.store(false, Ordering::Release);
        state.take()
    }

    /// Puts back a runtime that [`Self::take_live`] took but could not
    /// shut down.
    fn restore_live(&self, live: Live) {
        let mut state = self.state.lock();
        state.get_or_insert(live);
        self.open.store(true, Ordering::Release);
    }

    /// Whether this is the process the runtime was created in (its
    /// threads exist only there).
    fn in_own_process(&self) -> bool {
        crate::fork::generation() == self.generation
    }

    fn check_process(&self) -> PyResult<()> {
        if !self.in_own_process() {
            return Err(PyRuntimeError::new_err(
                "this Runtime was created in another process: its threads do not exist after \
                 fork(); create a new Runtime in the child",
            ));
        }
        Ok(())
    }

    pub(crate) fn handler(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.callbacks.handler(py)
    }

    /// Stops the fd watchers and drops every pending timer and fd callback
    /// (shutdown, drop).
    fn stop_callbacks(&self, py: Python<'_>) {
        self.callbacks.clear(py);
        self.fds.clear(py);
    }

    /// `add_reader` (`writable` false) and `add_writer`.
    fn add_watch(
        &self,
        py: Python<'_>,
        fd: &Bound<'_, PyAny>,
        writable: bool,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<FdWatch>> {
        let h = self.handle()?;
        fd::add_watch(py, &h, &self.fds, &self.callbacks, fd, writable, func, args)
    }

    fn submit(
        &self,
        py: Python<'_>,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
        blocking: bool,
    ) -> PyResult<Py<Task>> {
        check_callable(&func)?;
        let handle = self.handle()?;
        let task = Task::new(blocking);
        let guard = CancelOnDrop(task.cell.clone());
        // Dropped unrun (abort, shutdown) on a runtime thread: see off_gil.
        let job = Refs::new(Job {
            func: func.unbind(),
            args: args.unbind(),
            kwargs: kwargs.map(Bound::unbind),
        });
        let abort = if blocking {
            handle
                .spawn_blocking(move || Refs::into_inner(job).run(guard))
                .abort_handle()
        } else {
            handle
                .spawn(async move { Refs::into_inner(job).run(guard) })
                .abort_handle()
        };
        let _ = task.abort.set(abort);
        Py::new(py, task)
    }
}

#[pymethods]
impl PyRuntime {
    #[new]
    #[pyo3(signature = (workers=None, max_blocking=None, flavor="multi_thread", *, thread_name=None))]
    fn new(
        py: Python<'_>,
        workers: Option<usize>,
        max_blocking: Option<usize>,
        flavor: &str,
        thread_name: Option<String>,
    ) -> PyResult<PyRuntime> {
        let (live, flavor) = Live::build(py, workers, max_blocking, flavor, thread_name)?;
        Ok(PyRuntime {
            state: Mutex::new(Some(live)),
            open: AtomicBool::new(true),
            generation: crate::fork::generation(),
            flavor,
            callbacks: Arc::new(Callbacks::default()),
            fds: Arc::new(crate::fd::FdTable::default()),
        })
    }

    /// Runs `fn(*args, **kwargs)` on a runtime worker thread; returns its
    /// [`Task`]. For short, non-blocking callables.
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn spawn(
        &self,
        py: Python<'_>,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Py<Task>> {
        self.submit(py, func, args, kwargs, false)
    }

    /// Runs `fn(*args, **kwargs)` on the runtime's blocking pool; for
    /// callables that block (I/O, sleeps, long computations).
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn spawn_blocking(
        &self,
        py: Python<'_>,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Py<Task>> {
        self.submit(py, func, args, kwargs, true)
    }

    /// Shuts the runtime down: queued tasks are cancelled, timers and fd
    /// watchers stop (no callback starts after this returns; one already
    /// running finishes). With `wait`, blocks (GIL released) until that is
    /// done and running blocking work finishes, at most `timeout` seconds;
    /// without, returns at once while that happens in the background (a
    /// queued task may still run meanwhile). Ctrl-C interrupts
    /// the wait (the shutdown then completes in the background). Idempotent.
    #[pyo3(signature = (wait=true, timeout=None))]
    fn shutdown(&self, py: Python<'_>, wait: bool, timeout: Option<f64>) -> PyResult<()> {
        // Checked before the runtime is taken out: a bad argument must leave
        // it running, not half shut down.
        let timeout = match (wait, timeout) {
            (false, _) => Duration::ZERO,
            (true, None) => Duration::from_secs(86_400 * 365),
            (true, Some(t)) if t.is_nan() => {
                return Err(PyValueError::new_err("timeout must not be NaN"))
            }
            (true, Some(t)) => {
                Duration::try_from_secs_f64(t.max(0.0)).unwrap_or(Duration::from_secs(86_400 * 365))
            }
        };
        let Some(live) = self.take_live() else {
            return Ok(());
        };
        if !self.in_own_process() {
            std::mem::forget(live);
            return Ok(());
        }
        if on_runtime_thread(&live.rt) {
            // Shutting a runtime down from one of its own threads would wait
            // for that very thread: hand the work to a fresh thread.
            if wait {
                self.restore_live(live);
                return Err(PyRuntimeError::new_err(
                    "shutdown(wait=True) called from one of the runtime's own threads; \
                     use shutdown(wait=False)",
                ));
            }
            self.stop_callbacks(py);
            // If no thread can be started, `live` goes back into `state`
            // (shutting down here would wait on this very thread).
            return match shutdown_on_helper_thread(live, Duration::ZERO, || {}) {
                Ok(()) => Ok(()),
                Err((live, e)) => {
                    self.restore_live(live);
                    Err(crate::errors::os_error(e))
                }
            };
        }
        self.stop_callbacks(py);
        // The shutdown runs on a helper thread; this thread waits for it in
        // slices (GIL released) so Ctrl-C can interrupt a long wait, and no
        // longer than `timeout` (zero without `wait`): a current-thread
        // runtime's driver finishes the Python call it is in before it
        // stops, and the helper waits for that, not this caller. An
        // interrupted or timed-out shutdown completes in the background.
        let deadline = std::time::Instant::now().checked_add(timeout);
        let (tx, mut rx) = std::sync::mpsc::channel::<()>();
        if let Err((live, _)) = shutdown_on_helper_thread(live, timeout, move || {
            let _ = tx.send(());
        }) {
            // No helper thread: shut down on this one, GIL released, still
            // bounded by `timeout` (not interruptible by Ctrl-C).
            py.allow_threads(move || live.shutdown(timeout));
            return Ok(());
        }
        loop {
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Ok(());
                    }
                    left.min(Duration::from_millis(50))
                }
                None => Duration::from_millis(50),
            };
            let rx = &mut rx; // `&mut Receiver` is Send; `&Receiver` is not
            let done =
                crate::gil::allow_threads_until_exit(py, move || match rx.recv_timeout(slice) {
                    Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => true,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
                });
            if done {
                return Ok(());
            }
            py.check_signals()?;
        }
    }

    /// True once `shutdown()` was called.
    #[getter]
    fn closed(&self) -> bool {
        !self.open.load(Ordering::Acquire)
    }

    /// `"multi_thread"` or `"current_thread"`.
    #[getter]
    fn flavor(&self) -> &'static str {
        self.flavor
    }

    /// Scheduler counters: workers, tasks, queue depths, blocking threads.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.handle()?.metrics();
        let d = PyDict::new(py);
        let workers = m.num_workers();
        d.set_item("num_workers", workers)?;
        d.set_item("spawned_tasks_count", m.spawned_tasks_count())?;
        d.set_item("num_alive_tasks", m.num_alive_tasks())?;
        d.set_item("remote_schedule_count", m.remote_schedule_count())?;
        d.set_item("injection_queue_depth", m.injection_queue_depth())?;
        d.set_item("total_polls", m.total_polls())?;
        d.set_item("total_steals", m.total_steals())?;
        d.set_item("total_parks", m.total_parks())?;
        d.set_item("num_blocking_threads", m.num_blocking_threads())?;
        d.set_item("num_idle_blocking_threads", m.num_idle_blocking_threads())?;
        let per_worker: Vec<usize> = (0..workers)
            .map(|w| m.worker_local_queue_depth(w))
            .collect();
        d.set_item("worker_local_queue_depth", per_worker)?;
        Ok(d)
    }

    /// The runtime's monotonic clock in seconds (`time.monotonic()`'s
    /// clock); `call_at` deadlines are on it.
    fn time(&self) -> f64 {
        timer::monotonic_now()
    }

    /// Calls `fn(*args)` on a runtime thread after `delay` seconds
    /// (negative: now); returns a cancellable [`TimerHandle`].
    #[pyo3(signature = (delay, func, /, *args))]
    fn call_later(
        &self,
        py: Python<'_>,
        delay: f64,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<TimerHandle>> {
        let h = self.handle()?;
        timer::schedule(
            py,
            &h,
            &self.callbacks,
            timer::FirstAt::After(delay),
            None,
            func,
            args,
        )
    }

    /// Calls `fn(*args)` at `when` on the `time()` clock.
    #[pyo3(signature = (when, func, /, *args))]
    fn call_at(
        &self,
        py: Python<'_>,
        when: f64,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<TimerHandle>> {
        let h = self.handle()?;
        timer::schedule(
            py,
            &h,
            &self.callbacks,
            timer::FirstAt::At(when),
            None,
            func,
            args,
        )
    }

    /// Calls `fn(*args)` every `interval` seconds (first after one
    /// interval) until the handle is cancelled; missed ticks are skipped.
    /// An interval under a nanosecond counts as one nanosecond.
    #[pyo3(signature = (interval, func, /, *args))]
    fn call_every(
        &self,
        py: Python<'_>,
        interval: f64,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<TimerHandle>> {
        if interval.is_nan() || interval <= 0.0 {
            return Err(PyValueError::new_err(
                "interval must be a positive number of seconds",
            ));
        }
        let h = self.handle()?;
        let period = timer::delay_to_duration(interval);
        timer::schedule(
            py,
            &h,
            &self.callbacks,
            timer::FirstAt::After(interval),
            Some(period),
            func,
            args,
        )
    }

    /// `await rt.sleep(seconds, result=None)` from a running asyncio loop:
    /// sleeps on the runtime's timer wheel, then returns `result`. A delay
    /// of zero or less (or NaN) gives an already-completed future whose
    /// `await` yields to the loop once, like `asyncio.sleep(0)`; with no
    /// result, that is the loop's one shared completed future.
    #[pyo3(signature = (seconds, result=None))]
    fn sleep<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = "timer::delay_seconds")] seconds: f64,
        result: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let result = result.unwrap_or_else(|| py.None());
        if timer::delay_to_duration(seconds).is_zero() {
            // Nothing runs on the runtime, but a closed one still refuses.
            self.check_open()?;
            return timer::sleep_zero(py, result);
        }
        timer::sleep_future(py, &self.handle()?, seconds, result)
    }

    /// Calls `fn(*args)` on a runtime thread whenever `fd` (an int or an
    /// object with `fileno()`) is readable, until removed; replaces a
    /// previous reader of `fd`.
    #[pyo3(signature = (fd, func, /, *args))]
    fn add_reader(
        &self,
        py: Python<'_>,
        fd: Bound<'_, PyAny>,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<FdWatch>> {
        self.add_watch(py, &fd, false, func, args)
    }

    /// Like `add_reader`, for writability.
    #[pyo3(signature = (fd, func, /, *args))]
    fn add_writer(
        &self,
        py: Python<'_>,
        fd: Bound<'_, PyAny>,
        func: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<FdWatch>> {
        self.add_watch(py, &fd, true, func, args)
    }

    /// Stops watching `fd` for readability; True if it was watched.
    fn remove_reader(&self, fd: Bound<'_, PyAny>) -> PyResult<bool> {
        self.check_process()?;
        fd::remove_watch(&self.fds, &fd, false)
    }

    /// Stops watching `fd` for writability; True if it was watched.
    fn remove_writer(&self, fd: Bound<'_, PyAny>) -> PyResult<bool> {
        self.check_process()?;
        fd::remove_watch(&self.fds, &fd, true)
    }

    /// `await rt.wait_readable(fd)`: completes once `fd` is readable.
    fn wait_readable<'py>(
        &self,
        py: Python<'py>,
        fd: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let h = self.handle()?;
        fd::wait_future(py, &h, &fd, false)
    }

    /// `await rt.wait_writable(fd)`: completes once `fd` is writable.
    fn wait_writable<'py>(
        &self,
        py: Python<'py>,
        fd: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let h = self.handle()?;
        fd::wait_future(py, &h, &fd, true)
    }

    /// Sets the handler called as `handler(context)` for exceptions raised
    /// by timer and fd callbacks (None restores the default: log them on
    /// the `runtime` logger).
    #[pyo3(signature = (handler))]
    fn set_exception_handler(&self, handler: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        if let Some(h) = &handler {
            if !h.is_callable() {
                return Err(PyTypeError::new_err(
                    "exception handler must be callable or None",
                ));
            }
        }
        // The old handler is dropped after unlocking: its `__del__` may
        // call back in (get_exception_handler), and a runtime thread may
        // hold the GIL while it waits for the lock.
        let old = self.callbacks.set_handler(handler.map(Bound::unbind));
        drop(old);
        Ok(())
    }

    /// GC support: a handler, or a pending timer or fd callback, that
    /// refers back to this runtime (a closure, a bound method, an
    /// argument) forms a cycle through Rust-held references: they are
    /// visited (see `crate::callbacks`).
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.callbacks.traverse(&visit)
    }

    /// GC support: drops the handler and every pending timer and fd
    /// callback (the runtime is garbage; the callbacks become no-ops) and
    /// stops the fd watchers, as a shutdown does. The drop that follows
    /// shuts the runtime down.
    fn __clear__(&self) {
        Python::with_gil(|py| {
            self.callbacks.clear_all(py);
            self.fds.clear(py);
        });
    }

    /// The handler set by `set_exception_handler`, or None.
    fn get_exception_handler(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.handler(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*exc))]
    fn __exit__(&self, py: Python<'_>, exc: Bound<'_, PyTuple>) -> PyResult<bool> {
        let _ = exc; // exceptions propagate: never suppressed
        self.shutdown(py, true, None)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "<runtime.Runtime flavor={} {}>",
            self.flavor,
            if self.closed() { "closed" } else { "running" }
        )
    }
}

impl Drop for PyRuntime {
    fn drop(&mut self) {
        if crate::cell::is_python_alive() {
            // Also in a forked child, whose copies of the callbacks are
            // its own (the GIL is held: this is the object's
            // deallocation). This breaks the cycle registry -> entry ->
            // handle -> timer state -> registry.
            Python::with_gil(|py| self.callbacks.clear(py));
        }
        let Some(live) = self.state.get_mut().take() else {
            return;
        };
        if !self.in_own_process() || !crate::cell::is_python_alive() {
            std::mem::forget(live);
            return;
        }
        // As `shutdown()` does (the GIL is held: this is the object's
        // deallocation).
        Python::with_gil(|py| self.stop_callbacks(py));
        // On a helper thread, not waited for: from one of the runtime's own
        // threads the shutdown would wait for that very thread, and a
        // current-thread runtime's driver first finishes the Python call
        // it is in.
        let Err((live, _)) = shutdown_on_helper_thread(live, Duration::ZERO, || {}) else {
            return;
        };
        if on_runtime_thread(&live.rt) {
            // No helper thread, and this one cannot wait: leave the
            // runtime to its threads.
            std::mem::forget(live);
            return;
        }
        // Do not wait for running blocking work; release the GIL so that
        // runtime threads cancelling tasks can take it.
        Python::with_gil(|py| py.allow_threads(|| live.shutdown(Duration::ZERO)));
    }
}

/// The error every method of a shut-down runtime raises.
fn shut_down_error() -> PyErr {
    PyRuntimeError::new_err("the runtime is shut down")
}

/// `TypeError` unless `func` is callable.
pub(crate) fn check_callable(func: &Bound<'_, PyAny>) -> PyResult<()> {
    if func.is_callable() {
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "'{}' object is not callable",
        func.get_type().name()?
    )))
}

/// True on a thread of `rt` (worker, driver or blocking pool): a thread
/// of another runtime may wait for this one.
fn on_runtime_thread(rt: &CoreRuntime) -> bool {
    Handle::try_current().is_ok_and(|h| h.same_runtime(rt.handle()))
}
