//! The running asyncio loop, found without a system call.
//!
//! Every awaitable this module hands out starts by finding the running
//! loop (`rt.sleep(0)` does little else). `asyncio.get_running_loop()`
//! answers that, but on CPython 3.10 and 3.11 its C implementation calls
//! `getpid()` each time (so that a forked child does not see its parent's
//! loop). Inside a running loop that system call costs 150-270 ns on the
//! 2-core development box, more than the rest of `rt.sleep(0)` together.
//! CPython 3.12 dropped the check, so there `get_running_loop()` is used
//! as it is.
//!
//! # Design
//! CPython 3.10 and 3.11 keep the running loop in the thread-state dict (public
//! API: `PyThreadState_GetDict`) under the key
//! `__asyncio_running_event_loop__`, as a `_RunningLoopHolder` object:
//! `PyObject_HEAD`, then `PyObject *rl_loop`, then `pid_t rl_pid`.
//! `get_running_loop()` returns `rl_loop` when it is not `None` and
//! `rl_pid` is the current process id. [`running_loop`] reads the holder
//! itself and compares `rl_pid` with a process id cached per fork
//! generation ([`crate::fork`]): the same answer without the system call.
//!
//! That layout is CPython's private business, so the fast path is turned
//! on only after it is proven on the running interpreter. The first call
//! made inside a running loop asks `get_running_loop()`, then checks the
//! holder it finds: the interpreter is older than 3.12, the holder's type
//! is named `_RunningLoopHolder` and has [`Holder`]'s size, and reading
//! the holder gives the same loop and the real `getpid()`. Only then is
//! the holder's type recorded; any other outcome turns the fast path off
//! for the life of the process. The holder type is a static type of
//! `_asyncio`, so the recorded pointer stays valid.
//!
//! Invariants: [`HOLDER_TYPE`] goes from undecided to one final value
//! once; the fast path reads a holder only when its type is the recorded
//! one; every answer the fast path cannot give (no loop, another process,
//! no holder) goes to `get_running_loop()`, which raises the usual
//! `RuntimeError`.
//!
//! Assumption: a new process is made by `fork()` through libc, which runs
//! the `pthread_atfork` child handler that bumps the fork generation (as
//! `os.fork()` and every CPython API do). A child made by a raw `clone` or
//! `vfork` that then ran Python code would compare against the parent's
//! cached process id.
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyString;

/// The layout of `_RunningLoopHolder` in CPython 3.10 and 3.11 (release builds).
#[repr(C)]
struct Holder {
    ob_base: ffi::PyObject,
    rl_loop: *mut ffi::PyObject,
    rl_pid: libc::pid_t,
}

/// `HOLDER_TYPE` before the first call inside a running loop.
const UNDECIDED: usize = 0;
/// `HOLDER_TYPE` when the holder cannot be read: always ask asyncio.
const OFF: usize = 1;
/// [`UNDECIDED`], [`OFF`], or the address of the verified holder type.
static HOLDER_TYPE: AtomicUsize = AtomicUsize::new(UNDECIDED);

/// The fork generation (plus one; zero = none yet) that [`PID`] was read in.
static PID_GENERATION: AtomicU64 = AtomicU64::new(0);
static PID: AtomicI32 = AtomicI32::new(0);

/// Answers the fast path gave (for tests and diagnostics).
static HOLDER_HITS: AtomicU64 = AtomicU64::new(0);

static KEY: GILOnceCell<Py<PyString>> = GILOnceCell::new();
static GET_RUNNING_LOOP: GILOnceCell<Py<PyAny>> = GILOnceCell::new();

/// `asyncio.get_running_loop()`: the running loop of this thread, or
/// `RuntimeError` outside one.
pub(crate) fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    if let Some(lp) = from_holder(py) {
        return Ok(lp);
    }
    let f = GET_RUNNING_LOOP.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let lp = f.bind(py).call0()?;
    if HOLDER_TYPE.load(Ordering::Relaxed) == UNDECIDED {
        let verdict = verify_holder(py, &lp).unwrap_or(OFF);
        // The first verdict stands (a finalizer run by `verify_holder` could
        // have let another thread decide meanwhile).
        let _ =
            HOLDER_TYPE.compare_exchange(UNDECIDED, verdict, Ordering::Relaxed, Ordering::Relaxed);
    }
    Ok(lp)
}

/// The running loop read from a verified holder; `None` where only
/// `get_running_loop()` can answer.
fn from_holder(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    let ty = HOLDER_TYPE.load(Ordering::Relaxed);
    if ty == UNDECIDED || ty == OFF {
        return None;
    }
    let holder = current_holder(py)?;
    // SAFETY: `holder` is a live object (borrowed from the thread-state
    // dict, GIL held); reading its type pointer is what `Py_TYPE` does.
    if unsafe { ffi::Py_TYPE(holder) } as usize != ty {
        return None;
    }
    // SAFETY: the object's type is the holder type whose layout
    // `verify_holder` proved to be `Holder`; it is alive (the dict holds
    // it) while the GIL is held.
    let (lp, pid) = unsafe { holder_fields(holder) };
    // SAFETY: `Py_None` only returns the address of the `None` singleton.
    if lp.is_null() || lp == unsafe { ffi::Py_None() } || pid != current_pid() {
        return None;
    }
    // Only the thread holding the GIL writes the count: a load and a store
    // (no read-modify-write) keep it exact.
    HOLDER_HITS.store(HOLDER_HITS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    // SAFETY: `rl_loop` is a strong reference owned by the live holder, so
    // the loop is alive; `from_borrowed_ptr` takes a new reference to it.
    Some(unsafe { Bound::from_borrowed_ptr(py, lp) })
}

/// The object asyncio keeps under its key in this thread's state dict
/// (borrowed), if any.
fn current_holder(py: Python<'_>) -> Option<*mut ffi::PyObject> {
    let key = KEY.get_or_init(py, || {
        PyString::intern(py, "__asyncio_running_event_loop__").unbind()
    });
    // SAFETY: the GIL is held (`py`); the function returns this thread's
    // state dict (borrowed, owned by the thread state) or NULL.
    let dict = unsafe { ffi::PyThreadState_GetDict() };
    if dict.is_null() {
        return None;
    }
    // SAFETY: `dict` is a live dict and `key` a live str; the result is a
    // borrowed reference, or NULL when the key is absent or comparing it
    // with another key of the same hash raised (any extension may store
    // keys here).
    let holder = unsafe { ffi::PyDict_GetItemWithError(dict, key.as_ptr()) };
    if holder.is_null() {
        // SAFETY: GIL held; clearing a (possibly absent) error is always
        // allowed. The lookup's failure only means "no holder found".
        unsafe {
            if !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
            }
        }
        return None;
    }
    Some(holder)
}

/// The holder type's address if this interpreter's holder provably has
/// [`Holder`]'s layout and meaning (`lp` being the running loop), else
/// `None`.
fn verify_holder(py: Python<'_>, lp: &Bound<'_, PyAny>) -> Option<usize> {
    let (major, minor) = {
        let v = py.version_info();
        (v.major, v.minor)
    };
    if (major, minor) >= (3, 12) {
        return None;
    }
    let holder = current_holder(py)?;
    // SAFETY: `holder` is a live object borrowed from the dict (GIL held);
    // the new reference is owned by the returned `Bound`.
    let obj = unsafe { Bound::from_borrowed_ptr(py, holder) };
    let ty = obj.get_type();
    let named = ty.name().ok()?.to_cow().ok()? == "_RunningLoopHolder";
    let size: usize = ty.getattr("__basicsize__").ok()?.extract().ok()?;
    if !named || size != std::mem::size_of::<Holder>() {
        return None;
    }
    // SAFETY: the type is CPython's holder and its instances are exactly
    // `Holder`'s size, so both fields lie inside the live object.
    let (rl_loop, rl_pid) = unsafe { holder_fields(holder) };
    // SAFETY: getpid has no arguments and cannot fail.
    let pid = unsafe { libc::getpid() };
    (rl_loop == lp.as_ptr() && rl_pid == pid).then(|| ty.as_ptr() as usize)
}

/// The loop and process id a holder records (it never changes them after
/// creation).
///
/// # Safety
///
/// `holder` must point to a live object laid out as [`Holder`], and the
/// GIL must be held.
unsafe fn holder_fields(holder: *mut ffi::PyObject) -> (*mut ffi::PyObject, libc::pid_t) {
    let h = holder.cast::<Holder>();
    // SAFETY: per this function's contract, both fields lie inside a live
    // object that nobody writes.
    unsafe { ((*h).rl_loop, (*h).rl_pid) }
}

/// This process's id, read once per fork generation.
fn current_pid() -> libc::pid_t {
    let generation = crate::fork::generation().wrapping_add(1);
    if PID_GENERATION.load(Ordering::Acquire) == generation {
        return PID.load(Ordering::Relaxed);
    }
    // SAFETY: getpid has no arguments and cannot fail.
    let pid = unsafe { libc::getpid() };
    PID.store(pid, Ordering::Relaxed);
    PID_GENERATION.store(generation, Ordering::Release);
    pid
}

/// How this process finds the running loop, as `(mode, hits)`: mode
/// `"undecided"` (no call made inside a running loop yet), `"holder"`
/// (read from asyncio's holder) or `"asyncio"` (`get_running_loop()`);
/// hits counts the answers read from the holder. For tests and
/// diagnostics.
#[pyfunction]
pub(crate) fn _running_loop_stats() -> (&'static str, u64) {
    let mode = match HOLDER_TYPE.load(Ordering::Relaxed) {
        UNDECIDED => "undecided",
        OFF => "asyncio",
        _ => "holder",
    };
    (mode, HOLDER_HITS.load(Ordering::Relaxed))
}

/// The running loop as this module finds it (for tests: the same answer
/// as `asyncio.get_running_loop()`, including its `RuntimeError`).
#[pyfunction]
pub(crate) fn _running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    running_loop(py)
}
