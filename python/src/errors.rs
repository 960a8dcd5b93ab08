//! Python exception types the module raises, and the one place that
//! reports exceptions nobody can receive (done-callbacks, timer and fd
//! callbacks) through the runtime's exception handler or the `runtime`
//! logger.
//!
//! The exceptions are the standard library's own, so code written for
//! `concurrent.futures` catches them unchanged.
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::import_exception!(concurrent.futures, CancelledError);
pyo3::import_exception!(concurrent.futures, TimeoutError);
pyo3::import_exception!(concurrent.futures, InvalidStateError);

/// Logs `exc` with its traceback as `"{what} {obj!r}"` on the `runtime`
/// logger (`logging.getLogger("runtime").error(..., exc_info=exc)`).
pub(crate) fn log_exception(py: Python<'_>, what: &str, obj: &Bound<'_, PyAny>, exc: PyErr) {
    let res = (|| -> PyResult<()> {
        let logger = py
            .import("logging")?
            .call_method1("getLogger", ("runtime",))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("exc_info", exc.clone_ref(py).into_value(py))?;
        let msg = format!("{} {}", what, obj.repr()?);
        logger.call_method("error", (msg,), Some(&kwargs))?;
        Ok(())
    })();
    if let Err(e) = res {
        // Logging itself failed: fall back to sys.unraisablehook.
        e.write_unraisable(py, Some(obj));
    }
}

/// Reports an exception raised by a timer or fd callback: calls the
/// runtime's exception handler with an asyncio-style context dict
/// (`message`, `exception`, `handle`), or logs it when there is none or the
/// handler itself fails.
pub(crate) fn report_callback_error(
    py: Python<'_>,
    handler: Option<&Py<PyAny>>,
    message: &str,
    handle: &Bound<'_, PyAny>,
    exc: PyErr,
) {
    if let Some(h) = handler {
        let ctx = PyDict::new(py);
        let ok = ctx.set_item("message", message).is_ok()
            && ctx
                .set_item("exception", exc.clone_ref(py).into_value(py))
                .is_ok()
            && ctx.set_item("handle", handle).is_ok();
        if ok {
            match h.call1(py, (ctx,)) {
                Ok(_) => return,
                Err(e2) => {
                    log_exception(py, "exception in runtime exception handler for", handle, e2)
                }
            }
        }
    }
    log_exception(py, message, handle, exc);
}

/// `OSError(errno, strerror)` for an OS error, as `os.*` functions raise it:
/// Python code can test `e.errno`, and gets the errno's subclass
/// (`BlockingIOError` for EAGAIN, ...). Other `io::Error`s convert as PyO3
/// does (from the message).
pub(crate) fn os_error(e: std::io::Error) -> PyErr {
    match e.raw_os_error() {
        Some(code) => {
            let text = e.to_string();
            let strerror = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text)
                .to_owned();
            pyo3::exceptions::PyOSError::new_err((code, strerror))
        }
        None => e.into(),
    }
}
