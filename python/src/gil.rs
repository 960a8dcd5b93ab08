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
//!
//! # Interpreter exit
//! Once the interpreter finalizes, CPython ends any other thread that
//! tries to take the GIL with `pthread_exit`. On a runtime thread that
//! forced unwind meets the runtime's `catch_unwind` around each task, and
//! glibc aborts the process ("FATAL: exception not rethrown"): a runtime
//! shut down with `wait=False` whose worker was still in a Python call at
//! exit crashed the process in 9 runs of 12. So runtime threads enter
//! Python only through an *entry* that the package's exit hook closes
//! ([`_close_at_exit`], an `atexit` callback: it runs after the
//! interpreter joined its non-daemon threads and after the `atexit`
//! callbacks registered later, before finalization):
//!
//! - `IN_PYTHON` counts entries in progress (a `with_gil` from before it
//!   takes the GIL until after it let it go; a thread state's release).
//! - An entry counts itself in, *then* reads `EXITING` (both `SeqCst`); if
//!   set, it counts itself out and is refused. A thread already in Python
//!   (inside an entry, or holding the GIL) is let through uncounted: it
//!   takes no GIL it does not hold.
//! - [`_close_at_exit`] sets `EXITING`, then waits, GIL released, until
//!   `IN_PYTHON` is zero. Either the hook sees an entry's count or the
//!   entry sees `EXITING`: no entry can take the GIL after the wait ended.
//!
//! In a forked child the count restarts from the forking thread's own
//! entries (the other threads are not there to end theirs).
//!
//! A refused entry behaves as if the interpreter were gone: the callback
//! does not run, its task's cell ends cancelled (waking blocking waiters),
//! and the Python objects involved are leaked, not released.
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::cell::is_python_alive;

struct Pinned {
    saved: *mut ffi::PyThreadState,
    gstate: ffi::PyGILState_STATE,
}

/// Entries into Python from runtime threads in progress.
static IN_PYTHON: AtomicUsize = AtomicUsize::new(0);
/// Set by [`_close_at_exit`]; never cleared.
static EXITING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Entries this thread is inside (a callback may nest a `with_gil`).
    static ENTRIES: Cell<usize> = const { Cell::new(0) };
}

/// One runtime-thread entry into Python (see the module documentation).
/// Not `Send`: it ends on the thread that opened it (`ENTRIES`).
struct Entry {
    /// False for an entry made while this thread was already in Python
    /// (inside another entry, or holding the GIL): it is let through
    /// uncounted, since the thread needs no GIL it does not have.
    counted: bool,
    _not_send: PhantomData<*const ()>,
}

impl Entry {
    fn open() -> Option<Entry> {
        if !is_python_alive() {
            return None;
        }
        let nested = ENTRIES.try_with(Cell::get).unwrap_or(0) > 0;
        if nested || crate::off_gil::gil_held() {
            return Some(Entry {
                counted: false,
                _not_send: PhantomData,
            });
        }
        // Checked before counting too, so that refusals do not keep the
        // count from ever reading zero.
        if EXITING.load(Ordering::SeqCst) {
            return None;
        }
        IN_PYTHON.fetch_add(1, Ordering::SeqCst);
        if EXITING.load(Ordering::SeqCst) {
            IN_PYTHON.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let _ = ENTRIES.try_with(|e| e.set(e.get() + 1));
        Some(Entry {
            counted: true,
            _not_send: PhantomData,
        })
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if self.counted {
            let _ = ENTRIES.try_with(|e| e.set(e.get().saturating_sub(1)));
            IN_PYTHON.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// `threading.main_thread().ident`, recorded by [`install`] (0: unknown).
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);

/// `py.allow_threads(f)` for the waits of Python threads (`result()`,
/// `shutdown()`), which may still be blocked when the interpreter exits.
/// Once the exit gate is closed, every non-daemon thread has been joined:
/// a thread other than the main one that ends such a wait then parks for
/// ever instead of taking the GIL back. Taken back during finalization,
/// CPython would end the thread with `pthread_exit`, whose forced unwind
/// through PyO3's frames aborts the process (CPython 3.14 parks such
/// threads itself). A thread already waiting for the GIL when the gate
/// closes is not covered; [`_close_at_exit`] releases the GIL for a while
/// to let such threads through first.
pub(crate) fn allow_threads_until_exit<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    py.allow_threads(|| {
        let out = f();
        if EXITING.load(Ordering::SeqCst) && !is_main_thread() {
            loop {
                std::thread::park();
            }
        }
        out
    })
}

fn is_main_thread() -> bool {
    // SAFETY: pthread_self has no preconditions. CPython's thread ident
    // on POSIX is `pthread_self()` as an unsigned long.
    let me = unsafe { libc::pthread_self() } as u64;
    let main = MAIN_THREAD.load(Ordering::Relaxed);
    main == 0 || me == main
}

/// `pthread_atfork` child handler: the parent's entries in progress
/// belong to threads the child does not have; only the forking thread's
/// own (a callback that forked) will end there.
extern "C" fn reset_in_child() {
    let own = ENTRIES.try_with(Cell::get).unwrap_or(0);
    IN_PYTHON.store(own, Ordering::SeqCst);
}

/// Records the main thread and installs the child handler (once per
/// process; the module is never unloaded).
pub(crate) fn install(py: Python<'_>) {
    if let Ok(ident) = py
        .import("threading")
        .and_then(|t| t.call_method0("main_thread"))
        .and_then(|m| m.getattr("ident"))
        .and_then(|i| i.extract::<u64>())
    {
        MAIN_THREAD.store(ident, Ordering::Relaxed);
    }
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `reset_in_child` is an `extern "C" fn()` that lives as
        // long as the process and touches only an atomic and this
        // thread's locals.
        let _ = unsafe { libc::pthread_atfork(None, None, Some(reset_in_child)) };
    });
}

/// `_runtime._close_at_exit()`: refuses every later entry of a runtime
/// thread into Python and waits (GIL released) for those in progress. The
/// package's exit hook calls it after shutting its runtimes down, before
/// the interpreter finalizes. Waits as long as the Python code running on
/// runtime threads does (as interpreter exit waits for a
/// `ThreadPoolExecutor`'s running work items); a signal (Ctrl-C) ends the
/// wait with its exception.
#[pyfunction]
pub(crate) fn _close_at_exit(py: Python<'_>) -> PyResult<()> {
    EXITING.store(true, Ordering::SeqCst);
    // This thread's own entries (if it is a runtime thread) end after it.
    let own = ENTRIES.try_with(Cell::get).unwrap_or(0);
    // Threads already waiting for the GIL get it now, before finalization
    // (see `allow_threads_until_exit`).
    py.allow_threads(|| std::thread::sleep(Duration::from_millis(2)));
    loop {
        let idle = py.allow_threads(|| {
            for _ in 0..50 {
                if IN_PYTHON.load(Ordering::SeqCst) <= own {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            false
        });
        if idle {
            return Ok(());
        }
        py.check_signals()?;
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // Refused (at exit, or the interpreter is gone): the state is left
        // to the interpreter's teardown.
        let Some(_entry) = Entry::open() else {
            return;
        };
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
/// Python thread state. `None` (and `f` not run) once the interpreter is
/// exiting or gone: the caller then leaks the Python objects it holds.
#[must_use = "a refused call did not run: the objects it would have used must be leaked"]
pub(crate) fn with_gil<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    // Waiting for the GIL inside a fork-gate section could deadlock fork().
    debug_assert!(
        !crate::off_gil::in_section(),
        "GIL taken inside an off_gil section"
    );
    let _entry = Entry::open()?;
    pin_thread_state();
    Some(Python::with_gil(f))
}
