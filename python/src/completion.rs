//! `runtime.Completion`: a one-shot result slot that any thread sets and
//! any thread (blocking) or asyncio loop (awaiting) reads.
//!
//! It is a bare [`Cell`]: the same state machine tasks use, so a later C
//! ABI can hand the `Arc<Cell>` to C code and complete it from there.
use std::sync::Arc;

use pyo3::exceptions::{PyBaseException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::cell::{Cell, Completed, Outcome};
use crate::{delivery, errors};

/// A result that is set once, from any thread, and awaited or waited for.
#[pyclass(frozen, weakref, module = "runtime")]
pub(crate) struct Completion {
    pub(crate) cell: Arc<Cell>,
}

#[pymethods]
impl Completion {
    #[new]
    fn new() -> Completion {
        Completion { cell: Cell::new() }
    }

    /// Completes with `value`; raises `InvalidStateError` if already set.
    fn set_result(&self, py: Python<'_>, value: Py<PyAny>) -> PyResult<()> {
        match self.cell.complete(py, Outcome::Value(value)) {
            Completed::Completed => Ok(()),
            Completed::AlreadyDone => Err(errors::InvalidStateError::new_err(
                "Completion is already done",
            )),
        }
    }

    /// Completes with exception `exc` (an instance or a class);
    /// raises `InvalidStateError` if already set.
    fn set_exception(&self, py: Python<'_>, exc: Bound<'_, PyAny>) -> PyResult<()> {
        let exc = if let Ok(t) = exc.downcast::<PyType>() {
            if !t.is_subclass_of::<PyBaseException>()? {
                return Err(PyTypeError::new_err(
                    "exception must derive from BaseException",
                ));
            }
            t.call0()?
        } else {
            exc
        };
        if !exc.is_instance_of::<PyBaseException>() {
            return Err(PyTypeError::new_err(
                "exception must derive from BaseException",
            ));
        }
        match self
            .cell
            .complete(py, Outcome::Error(PyErr::from_value(exc)))
        {
            Completed::Completed => Ok(()),
            Completed::AlreadyDone => Err(errors::InvalidStateError::new_err(
                "Completion is already done",
            )),
        }
    }

    /// Waits (GIL released, Ctrl-C interrupts) for the value, re-raising a
    /// set exception; `TimeoutError` after `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.cell.wait(py, timeout)?.into_result(py)
    }

    /// Waits like `result()` and returns the exception (or None).
    #[pyo3(signature = (timeout=None))]
    fn exception(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.cell.wait(py, timeout)?.into_exception(py)
    }

    /// True once set or cancelled.
    fn done(&self) -> bool {
        self.cell.is_done()
    }

    /// Cancels the completion if it is not set yet.
    fn cancel(&self, py: Python<'_>) -> bool {
        self.cell.cancel(py)
    }

    /// True if cancelled.
    fn cancelled(&self) -> bool {
        self.cell.is_cancelled()
    }

    /// Calls `fn(completion)` once it is done (at once if it is).
    fn add_done_callback(slf: &Bound<'_, Self>, func: Bound<'_, PyAny>) -> PyResult<()> {
        if !func.is_callable() {
            return Err(PyTypeError::new_err(
                "add_done_callback() argument must be callable",
            ));
        }
        slf.get()
            .cell
            .add_done_callback(slf.py(), func.unbind(), slf.clone().into_any().unbind());
        Ok(())
    }

    /// `await completion` from a running asyncio loop.
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (d, fut) = delivery::loop_future(py)?;
        self.cell.add_loop_waiter(py, d, fut.clone().unbind())?;
        delivery::await_future(&fut)
    }

    /// `Completion[int]` in annotations evaluated at run time.
    #[classmethod]
    fn __class_getitem__<'py>(
        cls: &Bound<'py, pyo3::types::PyType>,
        item: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::delivery::generic_alias(cls, item)
    }

    /// GC support: a pending done-callback or awaiting task that refers
    /// back to this Completion forms a cycle through the Rust cell.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.cell.traverse(&visit)
    }

    fn __clear__(&self) {
        self.cell.clear();
    }

    fn __repr__(&self) -> String {
        format!("<runtime.Completion {}>", self.cell.state_name())
    }
}
