//! Taking the GIL on runtime threads without paying for a new Python
//! thread state each time.
//!
//! `PyGILState_Ensure` on a thread Python did not create makes a fresh
//! `PyThreadState`, and the matching `PyGILState_Release` destroys it
//! again; doing that per callback is slow and also wipes the thread's
//! `threading.local` data between calls. [`with_gil`] therefore pins one
//! thread state per runtime thread: the first call takes the GIL with
//! `PyGILState_Ensure` and immediately releases it with `PyEval_SaveThread`,
//! keeping the state alive (the GILState counter stays at one), so later
//! `Ensure`/`Release` pairs only swap the GIL. A thread-local guard gives
//! the state back when the thread exits, if the interpreter is still alive.
use std::cell::RefCell;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::cell::is_python_alive;

struct Pinned {
    saved: *mut ffi::PyThreadState,
    gstate: ffi::PyGILState_STATE,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if !is_python_alive() {
            return;
        }
        // SAFETY: `saved` is this thread's state, saved by
        // `PyEval_SaveThread` in `pin_thread_state` and never restored since
        // (every later GIL use went through Ensure/Release, which leave it
        // released); restoring it and releasing `gstate` undoes that
        // function's `PyGILState_Ensure` exactly once.
        unsafe {
            ffi::PyEval_RestoreThread(self.saved);
            ffi::PyGILState_Release(self.gstate);
        }
    }
}

thread_local! {
    static PINNED: RefCell<Option<Pinned>> = const { RefCell::new(None) };
}

fn pin_thread_state() {
    let _ = PINNED.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.is_some() || !is_python_alive() {
            return;
        }
        // SAFETY: the interpreter is initialized; this lookup may be made
        // without the GIL.
        if !unsafe { ffi::PyGILState_GetThisThreadState() }.is_null() {
            // A Python thread, or a nested call: it has a state already.
            return;
        }
        // SAFETY: this thread has no Python thread state (checked above), so
        // it cannot hold the GIL, and Ensure acquires it (creating the thread state); SaveThread then
        // releases the GIL while keeping the state, which `Pinned::drop`
        // later restores and releases.
        unsafe {
            let gstate = ffi::PyGILState_Ensure();
            let saved = ffi::PyEval_SaveThread();
            *p = Some(Pinned { saved, gstate });
        }
    });
}

/// `Python::with_gil` for runtime threads: reuses this thread's pinned
/// Python thread state.
pub(crate) fn with_gil<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    pin_thread_state();
    Python::with_gil(f)
}
