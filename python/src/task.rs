//! `runtime.Task`: the handle to a Python callable submitted with
//! `Runtime.spawn` / `Runtime.spawn_blocking`.
//!
//! A task owns a [`Cell`] that the runtime thread completes with the
//! callable's return value or exception (traceback kept). The callable, its
//! arguments and kwargs are held by a [`Job`] that the runtime drops as
//! soon as the call returns (or the task is cancelled before it starts).
//! `cancel()` succeeds only while the task has not started, as in
//! `concurrent.futures`; it then also aborts the runtime task so its slot
//! is freed at once.
use std::mem::ManuallyDrop;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyTuple};
use runtime_core::task::AbortHandle;

use crate::cell::{CancelOnDrop, Cell, Outcome, Start};
use crate::delivery;

/// The work of one task: a callable and its arguments.
pub(crate) struct Job {
    pub(crate) func: Py<PyAny>,
    pub(crate) args: Py<PyTuple>,
    pub(crate) kwargs: Option<Py<PyDict>>,
}

impl Job {
    /// Runs the job under the GIL and completes `guard`'s cell with the
    /// outcome. The job's references are released before the cell's
    /// waiters run. Refused at interpreter exit (see `gil`): the cell
    /// then ends cancelled.
    pub(crate) fn run(self, guard: CancelOnDrop) {
        // If the call is refused (the interpreter is exiting or gone), the
        // closure is dropped unrun and the references leak with it; `guard`
        // then ends the cell cancelled.
        let job = ManuallyDrop::new(self);
        let _ = crate::gil::with_gil(|py| {
            let Job { func, args, kwargs } = ManuallyDrop::into_inner(job);
            if let Start::AlreadyDone = guard.0.try_start() {
                return;
            }
            let res = func.call(py, args.bind(py), kwargs.as_ref().map(|k| k.bind(py)));
            drop((func, args, kwargs));
            let outcome = match res {
                Ok(v) if is_coroutine(py, v.bind(py)) => {
                    // An `async def` was spawned: it cannot run without an
                    // event loop. Close it (no "never awaited" warning) and
                    // say what to do instead.
                    let _ = v.call_method0(py, "close");
                    Outcome::Error(pyo3::exceptions::PyTypeError::new_err(
                        "the callable returned a coroutine: runtime tasks run plain callables; \
                         run coroutines on an asyncio loop (they may await runtime tasks)",
                    ))
                }
                Ok(v) => Outcome::Value(v),
                Err(e) => Outcome::Error(e),
            };
            let _ = guard.0.complete(py, outcome);
        });
    }
}

static COROUTINE_TYPE: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// Whether `v` is a native coroutine object (`types.CoroutineType`).
fn is_coroutine(py: Python<'_>, v: &Bound<'_, PyAny>) -> bool {
    let Ok(t) = COROUTINE_TYPE.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("types")?.getattr("CoroutineType")?.unbind())
    }) else {
        return false;
    };
    v.is_instance(t.bind(py)).unwrap_or(false)
}

/// A Python callable running (or queued) on the runtime.
#[pyclass(frozen, weakref, module = "runtime")]
pub(crate) struct Task {
    pub(crate) cell: Arc<Cell>,
    pub(crate) abort: OnceLock<AbortHandle>,
    pub(crate) blocking: bool,
    /// `fork::generation()` at creation: only threads of that process can
    /// finish the task.
    generation: u64,
}

impl Task {
    pub(crate) fn new(blocking: bool) -> Task {
        Task {
            cell: Cell::new(),
            abort: OnceLock::new(),
            blocking,
            generation: crate::fork::generation(),
        }
    }

    /// Fails if the task is unfinished and this is a process forked after
    /// it was made: its runtime's threads do not exist here, so a wait
    /// would never end.
    fn check_can_finish(&self) -> PyResult<()> {
        if self.generation == crate::fork::generation() || self.cell.is_done() {
            return Ok(());
        }
        Err(pyo3::exceptions::PyRuntimeError::new_err(
            "this task was unfinished when the process forked: its runtime's threads \
             are in the parent process, so it cannot finish here",
        ))
    }
}

#[pymethods]
impl Task {
    /// Waits (GIL released, Ctrl-C interrupts) and returns the callable's
    /// result, re-raising its exception.
    #[pyo3(signature = (timeout=None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.check_can_finish()?;
        self.cell.wait(py, timeout)?.into_result(py)
    }

    /// Waits like `result()` and returns the exception raised (or None).
    #[pyo3(signature = (timeout=None))]
    fn exception(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.check_can_finish()?;
        self.cell.wait(py, timeout)?.into_exception(py)
    }

    /// True once the task finished, failed or was cancelled.
    fn done(&self) -> bool {
        self.cell.is_done()
    }

    /// True while the callable is executing.
    fn running(&self) -> bool {
        self.cell.is_running()
    }

    /// True if the task was cancelled.
    fn cancelled(&self) -> bool {
        self.cell.is_cancelled()
    }

    /// Cancels the task if it has not started; returns whether it is
    /// cancelled. A running callable is never interrupted.
    fn cancel(&self, py: Python<'_>) -> bool {
        let cancelled = self.cell.cancel(py);
        if cancelled {
            if let Some(a) = self.abort.get() {
                a.abort();
            }
        }
        cancelled
    }

    /// Calls `fn(task)` when the task completes (at once if it is done), on
    /// the thread that completes it.
    fn add_done_callback(slf: &Bound<'_, Self>, func: Bound<'_, PyAny>) -> PyResult<()> {
        if !func.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "add_done_callback() argument must be callable",
            ));
        }
        slf.get()
            .cell
            .add_done_callback(slf.py(), func.unbind(), slf.clone().into_any().unbind());
        Ok(())
    }

    /// `func(task)` runs only if the task ends cancelled (at once if it
    /// already is); private to the `runtime` package (`Executor`).
    fn _add_cancel_callback(slf: &Bound<'_, Self>, func: Bound<'_, PyAny>) -> PyResult<()> {
        if !func.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_add_cancel_callback() argument must be callable",
            ));
        }
        slf.get().cell.add_cancel_callback(
            slf.py(),
            func.unbind(),
            slf.clone().into_any().unbind(),
        );
        Ok(())
    }

    /// `await task` from a running asyncio loop: completes on that loop's
    /// thread. Cancelling the awaiting coroutine does not cancel the task.
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.check_can_finish()?;
        let (d, fut) = delivery::loop_future(py)?;
        self.cell.add_loop_waiter(py, d, fut.clone().unbind())?;
        delivery::await_future(&fut)
    }

    /// `Task[int]` in annotations evaluated at run time.
    #[classmethod]
    fn __class_getitem__<'py>(
        cls: &Bound<'py, pyo3::types::PyType>,
        item: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::delivery::generic_alias(cls, item)
    }

    fn __repr__(&self) -> String {
        format!(
            "<runtime.Task {}{}>",
            self.cell.state_name(),
            if self.blocking { " blocking" } else { "" }
        )
    }
}
