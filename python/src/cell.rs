//! The completion cell shared by [`Task`](crate::task::Task) and
//! [`Completion`](crate::completion::Completion): a one-shot slot for a
//! Python outcome plus the parties waiting on it.
//!
//! # Design
//! A cell moves `Pending -> Running -> Done` or `Pending -> Done` exactly
//! once; `Done` is final. All state lives behind one mutex:
//!
//! - `state`: written by whoever completes the cell (a runtime thread for a
//!   task, any Python thread for a `Completion`), read by waiters.
//! - `waiters`: done-callbacks and asyncio futures registered before
//!   completion. Completion takes the whole list under the lock, then runs
//!   it *after* releasing the lock, with the GIL held, so Python code run by
//!   a waiter may freely re-enter the cell.
//!
//! Blocking waits (`result(timeout)`) release the GIL and sleep on a
//! condition variable in short slices; between slices they take the GIL
//! back just long enough to run `PyErr_CheckSignals`, so Ctrl-C interrupts
//! a wait promptly.
//!
//! Invariants: Python code never runs while the mutex is held; every
//! registered waiter runs exactly once; a cell dropped by the runtime
//! without having run (abort, shutdown) ends `Cancelled` (see
//! [`CancelOnDrop`]).
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use runtime_core::locks::{Condvar, Mutex};

use crate::delivery::Delivery;
use crate::errors;

/// How long a blocking wait sleeps before checking for signals.
const SIGNAL_SLICE: Duration = Duration::from_millis(50);

/// The final outcome of a cell.
pub(crate) enum Outcome {
    /// The callable returned (or `set_result` gave) this value.
    Value(Py<PyAny>),
    /// The callable raised (or `set_exception` gave) this error; it keeps its
    /// traceback.
    Error(PyErr),
    /// The cell was cancelled before it ran.
    Cancelled,
}

impl Outcome {
    /// A second reference to the same outcome.
    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Outcome {
        match self {
            Outcome::Value(v) => Outcome::Value(v.clone_ref(py)),
            Outcome::Error(e) => Outcome::Error(e.clone_ref(py)),
            Outcome::Cancelled => Outcome::Cancelled,
        }
    }

    /// The outcome as `result()` reports it: the value, or the exception
    /// re-raised, or `CancelledError`.
    pub(crate) fn into_result(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let _ = py;
        match self {
            Outcome::Value(v) => Ok(v),
            Outcome::Error(e) => Err(e),
            Outcome::Cancelled => Err(errors::CancelledError::new_err("task was cancelled")),
        }
    }

    /// The outcome as `exception()` reports it.
    pub(crate) fn into_exception(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Outcome::Value(_) => Ok(py.None()),
            Outcome::Error(e) => Ok(e.into_value(py).into_any()),
            Outcome::Cancelled => Err(errors::CancelledError::new_err("task was cancelled")),
        }
    }
}

/// A party waiting for the cell to complete.
enum Waiter {
    /// `callback(owner)` runs on the completing thread.
    Callback {
        callback: Py<PyAny>,
        owner: Py<PyAny>,
    },
    /// `callback(owner)` runs only if the cell ends cancelled (dropped
    /// otherwise): how `Executor` learns that a worker never started
    /// without a Python call per completed work item.
    OnCancel {
        callback: Py<PyAny>,
        owner: Py<PyAny>,
    },
    /// The outcome is copied into an asyncio future via its loop's queue.
    Loop {
        delivery: Arc<Delivery>,
        future: Py<PyAny>,
    },
}

enum State {
    Pending,
    Running,
    Done(Outcome),
}

struct Inner {
    state: State,
    waiters: Vec<Waiter>,
    /// The waiter count at which the next purge of done loop waiters
    /// runs: twice what the previous purge left (at least
    /// [`FIRST_PURGE`]), so purges cost O(1) per waiter added.
    purge_at: usize,
}

/// The waiter count that triggers the first purge (see `Inner::purge_at`).
const FIRST_PURGE: usize = 4;

/// Result of [`Cell::try_start`].
#[must_use]
pub(crate) enum Start {
    /// The cell is now `Running`: run the work and complete it.
    Started,
    /// The cell was already completed (cancelled): skip the work.
    AlreadyDone,
}

/// Result of [`Cell::complete`].
#[must_use]
pub(crate) enum Completed {
    /// This call completed the cell.
    Completed,
    /// The cell had already been completed; the outcome was dropped.
    AlreadyDone,
}

/// See the module documentation.
pub(crate) struct Cell {
    inner: Mutex<Inner>,
    cond: Condvar,
}

impl Cell {
    pub(crate) fn new() -> Arc<Cell> {
        Arc::new(Cell {
            inner: Mutex::new(Inner {
                state: State::Pending,
                waiters: Vec::new(),
                purge_at: FIRST_PURGE,
            }),
            cond: Condvar::new(),
        })
    }

    /// `Pending -> Running`.
    pub(crate) fn try_start(&self) -> Start {
        let mut inner = self.inner.lock();
        match inner.state {
            State::Pending => {
                inner.state = State::Running;
                Start::Started
            }
            _ => Start::AlreadyDone,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.inner.lock().state, State::Done(_))
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(self.inner.lock().state, State::Running)
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self.inner.lock().state, State::Done(Outcome::Cancelled))
    }

    /// A short state name for `repr()`.
    pub(crate) fn state_name(&self) -> &'static str {
        match &self.inner.lock().state {
            State::Pending => "pending",
            State::Running => "running",
            State::Done(Outcome::Value(_)) => "finished",
            State::Done(Outcome::Error(_)) => "failed",
            State::Done(Outcome::Cancelled) => "cancelled",
        }
    }

    /// Stores `outcome` unless the cell is already done, wakes blocking
    /// waiters and runs the registered waiters (GIL held by the caller).
    pub(crate) fn complete(&self, py: Python<'_>, outcome: Outcome) -> Completed {
        let waiters = {
            let mut inner = self.inner.lock();
            if let State::Done(_) = inner.state {
                return Completed::AlreadyDone;
            }
            // Only clone when somebody listens.
            let for_waiters = if inner.waiters.is_empty() {
                None
            } else {
                Some(outcome.clone_ref(py))
            };
            inner.state = State::Done(outcome);
            self.cond.notify_all();
            match for_waiters {
                None => return Completed::Completed,
                Some(o) => (std::mem::take(&mut inner.waiters), o),
            }
        };
        run_waiters(py, waiters.0, &waiters.1);
        Completed::Completed
    }

    /// Completes the cell as cancelled without needing the GIL unless
    /// somebody is registered to hear about it.
    pub(crate) fn cancel_without_gil(&self) -> Completed {
        // It may take the GIL: never inside a fork-gate section.
        debug_assert!(
            !crate::off_gil::in_section(),
            "cell cancelled inside an off_gil section"
        );
        let waiters = {
            let mut inner = self.inner.lock();
            if let State::Done(_) = inner.state {
                return Completed::AlreadyDone;
            }
            inner.state = State::Done(Outcome::Cancelled);
            self.cond.notify_all();
            std::mem::take(&mut inner.waiters)
        };
        if !waiters.is_empty() {
            // Taking the GIL from a runtime thread is fine; at interpreter
            // exit there is nobody left to tell: the call is refused and
            // the waiters leak with the unrun closure.
            let waiters = std::mem::ManuallyDrop::new(waiters);
            let _ = crate::gil::with_gil(|py| {
                run_waiters(
                    py,
                    std::mem::ManuallyDrop::into_inner(waiters),
                    &Outcome::Cancelled,
                )
            });
        }
        Completed::Completed
    }

    /// `Pending -> Done(Cancelled)`; true when the cell is cancelled after
    /// the call (also when it already was).
    pub(crate) fn cancel(&self, py: Python<'_>) -> bool {
        {
            let inner = self.inner.lock();
            match inner.state {
                State::Pending => {}
                State::Done(Outcome::Cancelled) => return true,
                _ => return false,
            }
        }
        match self.complete(py, Outcome::Cancelled) {
            Completed::Completed => true,
            Completed::AlreadyDone => self.is_cancelled(),
        }
    }

    /// Runs `callback(owner)` when the cell completes (now, if it is done).
    pub(crate) fn add_done_callback(&self, py: Python<'_>, callback: Py<PyAny>, owner: Py<PyAny>) {
        {
            let mut inner = self.inner.lock();
            if !matches!(inner.state, State::Done(_)) {
                inner.waiters.push(Waiter::Callback { callback, owner });
                return;
            }
        }
        call_done_callback(py, &callback, &owner);
    }

    /// Runs `callback(owner)` if the cell ends cancelled (now, if it
    /// already has); forgets it on any other outcome.
    pub(crate) fn add_cancel_callback(
        &self,
        py: Python<'_>,
        callback: Py<PyAny>,
        owner: Py<PyAny>,
    ) {
        {
            let mut inner = self.inner.lock();
            match inner.state {
                State::Done(Outcome::Cancelled) => {}
                State::Done(_) => return,
                _ => {
                    inner.waiters.push(Waiter::OnCancel { callback, owner });
                    return;
                }
            }
        }
        call_done_callback(py, &callback, &owner);
    }

    /// Copies the outcome into asyncio `future` on its loop when the cell
    /// completes; if it is already done, sets the future right away (the
    /// caller runs on that loop's thread).
    pub(crate) fn add_loop_waiter(
        &self,
        py: Python<'_>,
        delivery: Arc<Delivery>,
        future: Py<PyAny>,
    ) -> PyResult<()> {
        let purge = {
            let mut inner = self.inner.lock();
            if let State::Done(o) = &inner.state {
                let outcome = o.clone_ref(py);
                drop(inner);
                return crate::delivery::set_future(py, future.bind(py), outcome);
            }
            inner.waiters.push(Waiter::Loop { delivery, future });
            // When the list has doubled since the last purge, look for
            // futures already done: an `await` cancelled (a timeout) leaves
            // its future here until the cell completes, and a cell awaited
            // with timeouts in a loop would otherwise keep every one.
            if inner.waiters.len() < inner.purge_at {
                return Ok(());
            }
            // No second purge starts before this one is done.
            inner.purge_at = usize::MAX;
            inner
                .waiters
                .iter()
                .filter_map(|w| match w {
                    Waiter::Loop { future, .. } => Some(future.clone_ref(py)),
                    _ => None,
                })
                .collect::<Vec<Py<PyAny>>>()
        };
        self.purge_done_loop_waiters(py, purge);
        Ok(())
    }

    /// Drops the loop waiters among `futures` whose future is already done
    /// (their awaiter was cancelled). `done()` is Python code, so it runs
    /// with the lock released; the waiters are then removed by identity
    /// (if the cell completed meanwhile, the list was already taken).
    fn purge_done_loop_waiters(&self, py: Python<'_>, futures: Vec<Py<PyAny>>) {
        let done: std::collections::HashSet<*mut pyo3::ffi::PyObject> = futures
            .iter()
            .filter(|f| {
                f.bind(py)
                    .call_method0(pyo3::intern!(py, "done"))
                    .and_then(|d| d.is_truthy())
                    .unwrap_or(false)
            })
            .map(|f| f.as_ptr())
            .collect();
        let removed: Vec<Waiter> = {
            let mut inner = self.inner.lock();
            let (gone, kept): (Vec<Waiter>, Vec<Waiter>) =
                std::mem::take(&mut inner.waiters).into_iter().partition(
                    |w| matches!(w, Waiter::Loop { future, .. } if done.contains(&future.as_ptr())),
                );
            inner.waiters = kept;
            inner.purge_at = (2 * inner.waiters.len()).max(FIRST_PURGE);
            gone
        };
        // Python references dropped with the lock released (GIL held).
        drop(removed);
        drop(futures);
    }

    /// Garbage-collector support for an owner that is the cell's only
    /// holder (`Completion`: nothing but Python code completes it): visits
    /// the Python objects the cell holds, so that a cycle through it (a
    /// done-callback or an awaiting task that refers back to the owner) is
    /// collected. A lock held elsewhere is skipped (its holder never waits
    /// for the GIL under it; this pass then sees fewer references and
    /// collects nothing through the cell).
    pub(crate) fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        let Some(inner) = self.inner.try_lock() else {
            return Ok(());
        };
        if let State::Done(Outcome::Value(v)) = &inner.state {
            visit.call(v)?;
        }
        for w in &inner.waiters {
            match w {
                Waiter::Callback { callback, owner } | Waiter::OnCancel { callback, owner } => {
                    visit.call(callback)?;
                    visit.call(owner)?;
                }
                Waiter::Loop { future, .. } => visit.call(future)?,
            }
        }
        Ok(())
    }

    /// Garbage-collector support (see [`Cell::traverse`]): drops the
    /// waiters and a stored value, breaking the cycle. The cell is
    /// garbage, so nobody is left to be told.
    pub(crate) fn clear(&self) {
        let taken = {
            let mut inner = self.inner.lock();
            let value = match &mut inner.state {
                State::Done(o @ Outcome::Value(_)) => {
                    Some(std::mem::replace(o, Outcome::Cancelled))
                }
                _ => None,
            };
            (std::mem::take(&mut inner.waiters), value)
        };
        drop(taken);
    }

    /// The outcome, if the cell is done.
    pub(crate) fn peek(&self, py: Python<'_>) -> Option<Outcome> {
        match &self.inner.lock().state {
            State::Done(o) => Some(o.clone_ref(py)),
            _ => None,
        }
    }

    /// Blocks (GIL released) until the cell is done or `timeout` seconds
    /// pass; checks for signals every [`SIGNAL_SLICE`].
    pub(crate) fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Outcome> {
        if let Some(o) = self.peek(py) {
            return Ok(o);
        }
        if runtime_core::runtime::is_driving() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "blocking wait on a runtime worker thread would stall the runtime; \
                 wait from another thread, use spawn_blocking, or add_done_callback",
            ));
        }
        let deadline = match timeout {
            None => None,
            Some(t) if t.is_nan() => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "timeout must not be NaN",
                ))
            }
            Some(t) if t <= 0.0 => Some(Instant::now()),
            Some(t) => Some(
                Instant::now()
                    .checked_add(Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX))
                    .unwrap_or_else(far_future),
            ),
        };
        loop {
            let done = crate::gil::allow_threads_until_exit(py, || {
                let mut inner = self.inner.lock();
                if matches!(inner.state, State::Done(_)) {
                    return true;
                }
                let slice_end = match deadline {
                    Some(d) => d.min(Instant::now() + SIGNAL_SLICE),
                    None => Instant::now() + SIGNAL_SLICE,
                };
                let _ = self.cond.wait_until(&mut inner, slice_end);
                matches!(inner.state, State::Done(_))
            });
            if done {
                return Ok(self.peek(py).expect("done cells stay done"));
            }
            py.check_signals()?;
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return Err(errors::TimeoutError::new_err(()));
                }
            }
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

fn run_waiters(py: Python<'_>, waiters: Vec<Waiter>, outcome: &Outcome) {
    for w in waiters {
        match w {
            Waiter::Callback { callback, owner } => call_done_callback(py, &callback, &owner),
            Waiter::OnCancel { callback, owner } => {
                if matches!(outcome, Outcome::Cancelled) {
                    call_done_callback(py, &callback, &owner);
                }
            }
            Waiter::Loop { delivery, future } => delivery.push(future, outcome.clone_ref(py)),
        }
    }
}

/// Runs a done-callback; an exception it raises is logged on the
/// `runtime` logger, as `concurrent.futures` does.
fn call_done_callback(py: Python<'_>, callback: &Py<PyAny>, owner: &Py<PyAny>) {
    if let Err(e) = callback.call1(py, (owner.clone_ref(py),)) {
        errors::log_exception(py, "exception calling callback for", owner.bind(py), e);
    }
}

impl Drop for Cell {
    /// The last reference may be a runtime thread's, without the GIL: the
    /// outcome and the waiters go through [`crate::off_gil::release`].
    fn drop(&mut self) {
        let inner = std::mem::replace(
            self.inner.get_mut(),
            Inner {
                state: State::Pending,
                waiters: Vec::new(),
                purge_at: FIRST_PURGE,
            },
        );
        crate::off_gil::release(inner);
    }
}

/// False once the interpreter is finalizing: runtime threads must not take
/// the GIL then.
pub(crate) fn is_python_alive() -> bool {
    // SAFETY: Py_IsInitialized may be called at any time, with or without
    // the GIL.
    unsafe { pyo3::ffi::Py_IsInitialized() != 0 }
}

/// Owned by the Rust future or closure that runs a task's work: if it is
/// dropped before the work completed the cell (abort, runtime shutdown),
/// the cell ends `Cancelled`.
pub(crate) struct CancelOnDrop(pub(crate) Arc<Cell>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let _ = self.0.cancel_without_gil();
    }
}
