//! File-descriptor watchers: `add_reader` / `add_writer` /
//! `remove_reader` / `remove_writer` and `wait_readable` / `wait_writable`.
//!
//! # Design
//! asyncio semantics: at most one reader and one writer callback per fd and
//! runtime (adding one replaces the previous), level-triggered (the
//! callback runs again while the fd stays ready), removal returns whether a
//! watcher was registered.
//!
//! Each watcher is one runtime task owning an
//! [`AsyncFd`] registered for one direction on a
//! **duplicate** of the user's fd (`F_DUPFD_CLOEXEC`; `AsyncFd` makes and
//! owns it, see `AsyncFd::registered_fd`). The duplicate makes
//! every registration independent: a reader and a writer on the same fd, or
//! a watcher re-added right after removal while the old task is still being
//! dropped, never collide in the reactor, and the old registration is
//! closed with its task. (Consequence: a socket closed by the user while
//! still watched stays open until its watcher is removed, as it must for
//! the reactor to be told about it.)
//!
//! The reactor is edge-triggered; level-triggered behaviour is rebuilt on
//! top: after each callback the task polls the fd with `poll(2)` (zero
//! timeout). If it is still ready, the task yields and calls again;
//! otherwise it clears the readiness it consumed (`clear_ready`, which keeps
//! any newer edge) and waits for the next one.
//!
//! [`FdTable`] maps `(fd, direction)` to the live watcher's state; its
//! [`Registration`]'s `cancelled` flag is checked under the GIL right before every call, so no
//! callback starts after `remove_*` / `FdWatch.cancel()` returned. A
//! watcher stopped by an I/O error leaves the table and counts as
//! cancelled too. The callback itself is in the runtime's [`Callbacks`]
//! (so the garbage collector sees it, see [`crate::callbacks`]); a
//! stopped watcher's leaves it.
//!
//! Each watcher remembers the file object it was given (weakly where the
//! object allows): `remove_*` of an object whose `fileno()` no longer
//! answers (a socket closed while watched gives -1) finds its watcher by
//! identity, as asyncio's selectors do.
//!
//! `await rt.wait_readable(fd)` is cancelled if the runtime shuts down
//! first (see `delivery::spawn_future`).
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyWeakrefMethods, PyWeakrefReference};
use runtime_core::io::{AsyncFd, Interest};
use runtime_core::locks::Mutex;
use runtime_core::runtime::Handle;

use crate::callbacks::{Callbacks, Entry, Key, Registration};
use crate::cell::Outcome;
use crate::delivery;
use crate::off_gil::Refs;

/// Which readiness a watcher waits for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Direction {
    Read,
    Write,
}

impl Direction {
    fn interest(self) -> Interest {
        match self {
            Direction::Read => Interest::READABLE,
            Direction::Write => Interest::WRITABLE,
        }
    }

    fn poll_events(self) -> libc::c_short {
        match self {
            Direction::Read => libc::POLLIN,
            Direction::Write => libc::POLLOUT,
        }
    }
}

/// State shared by an [`FdWatch`], its task and the [`FdTable`].
struct WatchState {
    fd: RawFd,
    dir: Direction,
    /// The object `add_*` was given, if not an int: a weak reference to
    /// it, or the object itself where it takes none. Dropped by a runtime
    /// thread with the task: see off_gil.
    fileobj: Option<Refs<FileObj>>,
    reg: Registration,
}

/// How a [`WatchState`] remembers its file object.
enum FileObj {
    Weak(Py<PyWeakrefReference>),
    Strong(Py<PyAny>),
}

impl FileObj {
    /// Remembers `obj` (None for an int, which has no identity worth
    /// keeping).
    fn new(obj: &Bound<'_, PyAny>) -> Option<Refs<FileObj>> {
        if obj.downcast::<pyo3::types::PyInt>().is_ok() {
            return None;
        }
        let f = match PyWeakrefReference::new(obj) {
            Ok(w) => FileObj::Weak(w.unbind()),
            Err(_) => FileObj::Strong(obj.clone().unbind()),
        };
        Some(Refs::new(f))
    }

    /// Whether this is `obj` (still alive).
    fn is(&self, obj: &Bound<'_, PyAny>) -> bool {
        match self {
            FileObj::Weak(w) => w.bind(obj.py()).upgrade().is_some_and(|o| o.is(obj)),
            FileObj::Strong(o) => o.bind(obj.py()).is(obj),
        }
    }
}

/// The runtime's table of live fd watchers.
#[derive(Default)]
pub(crate) struct FdTable {
    watches: Mutex<HashMap<(RawFd, Direction), Arc<WatchState>>>,
}

impl FdTable {
    /// Cancels every watcher (runtime shutdown).
    pub(crate) fn clear(&self, py: Python<'_>) {
        let all: Vec<_> = self.watches.lock().drain().map(|(_, w)| w).collect();
        for w in all {
            w.reg.cancel(py);
        }
    }

    fn insert(&self, py: Python<'_>, w: Arc<WatchState>) {
        let old = self.watches.lock().insert((w.fd, w.dir), w);
        if let Some(old) = old {
            old.reg.cancel(py);
        }
    }

    fn remove(&self, py: Python<'_>, fd: RawFd, dir: Direction) -> bool {
        let old = self.watches.lock().remove(&(fd, dir));
        match old {
            Some(w) => {
                w.reg.cancel(py);
                true
            }
            None => false,
        }
    }

    /// Stops the watcher of direction `dir` whose file object is `obj`;
    /// false if there is none.
    fn remove_by_object(&self, obj: &Bound<'_, PyAny>, dir: Direction) -> bool {
        // Compared with the lock released: `is` upgrades weak references.
        let candidates: Vec<Arc<WatchState>> = self
            .watches
            .lock()
            .values()
            .filter(|w| w.dir == dir && w.fileobj.is_some())
            .cloned()
            .collect();
        let Some(found) = candidates
            .into_iter()
            .find(|w| w.fileobj.as_ref().is_some_and(|f| f.is(obj)))
        else {
            return false;
        };
        self.stop(obj.py(), &found);
        true
    }

    /// Stops `w`: out of the table if still its fd's watcher, and
    /// cancelled.
    fn stop(&self, py: Python<'_>, w: &Arc<WatchState>) {
        self.remove_if_current(w);
        w.reg.cancel(py);
    }

    /// Removes `w` if it is still the registered watcher of its fd.
    fn remove_if_current(&self, w: &Arc<WatchState>) {
        let mut map = self.watches.lock();
        if map
            .get(&(w.fd, w.dir))
            .is_some_and(|cur| Arc::ptr_eq(cur, w))
        {
            map.remove(&(w.fd, w.dir));
        }
    }
}

/// A reader or writer callback registered on a file descriptor.
#[pyclass(frozen, weakref, module = "runtime")]
pub(crate) struct FdWatch {
    state: Arc<WatchState>,
    table: Arc<FdTable>,
}

#[pymethods]
impl FdWatch {
    /// Stops the watcher (like `remove_reader`/`remove_writer` for this
    /// one); no callback starts after this returns.
    fn cancel(&self, py: Python<'_>) {
        self.table.stop(py, &self.state);
    }

    /// True once cancelled or replaced.
    fn cancelled(&self) -> bool {
        self.state.reg.is_cancelled()
    }

    /// The watched file descriptor.
    fn fileno(&self) -> RawFd {
        self.state.fd
    }

    fn __repr__(&self) -> String {
        format!(
            "<runtime.FdWatch fd={} {}{}>",
            self.state.fd,
            match self.state.dir {
                Direction::Read => "reader",
                Direction::Write => "writer",
            },
            if self.cancelled() { " cancelled" } else { "" }
        )
    }
}

/// asyncio's `_fileobj_to_fd`: an int, or an object with `fileno()`.
pub(crate) fn fileobj_to_fd(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let fd: i64 = match obj.extract::<i64>() {
        Ok(fd) => fd,
        Err(_) => match obj.getattr("fileno") {
            Ok(f) => f.call0()?.extract::<i64>().map_err(|_| {
                PyValueError::new_err(format!("Invalid file object: {}", repr(obj)))
            })?,
            Err(_) => {
                return Err(PyValueError::new_err(format!(
                    "Invalid file object: {}",
                    repr(obj)
                )))
            }
        },
    };
    if fd < 0 {
        return Err(PyValueError::new_err(format!(
            "Invalid file descriptor: {fd}"
        )));
    }
    RawFd::try_from(fd).map_err(|_| PyValueError::new_err(format!("Invalid file descriptor: {fd}")))
}

fn repr(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "<object>".into())
}

/// A Python-side fd number, carried by a registration for reference: the
/// reactor watches the `AsyncFd`'s own duplicate of it
/// (`AsyncFd::registered_fd`), which is also what `still_ready` polls.
#[derive(Debug, Clone, Copy)]
struct PyFd(RawFd);

impl AsRawFd for PyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Registers a duplicate of `fd` with the runtime's reactor for `dir`;
/// `OSError` (EBADF) for a closed fd.
fn register(rt: &Handle, fd: RawFd, dir: Direction) -> PyResult<AsyncFd<PyFd>> {
    let _enter = rt.enter();
    AsyncFd::with_interest(PyFd(fd), dir.interest()).map_err(crate::errors::os_error)
}

/// Whether `fd` is ready for `dir` right now (`poll(2)`, zero timeout);
/// errors and hang-ups count as ready, as for `select`.
fn still_ready(fd: RawFd, dir: Direction) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: dir.poll_events(),
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd and the count passed is 1.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents != 0
}

/// `rt.add_reader` / `rt.add_writer`.
#[allow(clippy::too_many_arguments)] // the Python method's arguments, passed through
pub(crate) fn add_watch(
    py: Python<'_>,
    rt: &Handle,
    table: &Arc<FdTable>,
    callbacks: &Arc<Callbacks>,
    fileobj: &Bound<'_, PyAny>,
    write: bool,
    func: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
) -> PyResult<Py<FdWatch>> {
    crate::rt::check_callable(&func)?;
    let dir = if write {
        Direction::Write
    } else {
        Direction::Read
    };
    let fd = fileobj_to_fd(fileobj)?;
    let afd = register(rt, fd, dir)?;
    let state = Arc::new(WatchState {
        fd,
        dir,
        fileobj: FileObj::new(fileobj),
        reg: Registration::new(callbacks),
    });
    let watch = Py::new(
        py,
        FdWatch {
            state: state.clone(),
            table: table.clone(),
        },
    )?;
    let key = state.reg.register(
        py,
        Entry {
            func: func.unbind(),
            args: args.unbind(),
            handle: watch.clone_ref(py).into_any(),
            what: if write {
                "Exception in writer callback"
            } else {
                "Exception in reader callback"
            },
        },
    );
    let st = state.clone();
    let tbl = table.clone();
    let join = rt.spawn(async move {
        loop {
            let mut guard = match afd.ready(dir.interest()).await {
                Ok(g) => g,
                Err(e) => {
                    // Stopped: out of the table, and cancelled, as if
                    // removed.
                    tbl.remove_if_current(&st);
                    report_io_error(&st, key, e);
                    return;
                }
            };
            if !st.reg.fire(key, false) {
                return;
            }
            if still_ready(afd.registered_fd().as_raw_fd(), dir) {
                // Level-triggered: call again, after letting others run.
                runtime_core::task::yield_now().await;
            } else {
                guard.clear_ready();
            }
        }
    });
    state.reg.set_task(join.abort_handle());
    table.insert(py, state);
    Ok(watch)
}

/// Marks a watcher stopped by an I/O error cancelled, takes its callback
/// (`key`) out of the registry and reports the error, unless it was
/// already cancelled (removed meanwhile: nobody listens any more).
fn report_io_error(st: &WatchState, key: Key, e: std::io::Error) {
    // Refused at interpreter exit: nobody is left to tell.
    let told = crate::gil::with_gil(|py| {
        // Under the GIL, as `fire` checks it: no report after `cancel()`
        // returned.
        if st.reg.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        // Gone if the runtime was shut down or collected meanwhile.
        let Some(entry) = st.reg.callbacks().take(py, key) else {
            return;
        };
        st.reg.callbacks().report(
            py,
            "fd watcher stopped by an I/O error",
            entry.handle.bind(py),
            e.into(),
        );
    });
    if told.is_none() {
        st.reg.cancelled.store(true, Ordering::Release);
    }
}

/// `rt.remove_reader` / `rt.remove_writer`. An object whose `fileno()`
/// fails with `ValueError` (a closed socket's -1) is looked up by
/// identity, as asyncio's selectors do.
pub(crate) fn remove_watch(
    table: &FdTable,
    fileobj: &Bound<'_, PyAny>,
    write: bool,
) -> PyResult<bool> {
    let dir = if write {
        Direction::Write
    } else {
        Direction::Read
    };
    match fileobj_to_fd(fileobj) {
        Ok(fd) => Ok(table.remove(fileobj.py(), fd, dir)),
        Err(e) if e.is_instance_of::<PyValueError>(fileobj.py()) => {
            if table.remove_by_object(fileobj, dir) {
                Ok(true)
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// `await rt.wait_readable(fd)` / `await rt.wait_writable(fd)`: an asyncio
/// future on the running loop, completed (with None) once the fd is ready
/// (cancelled if the runtime shuts down first).
pub(crate) fn wait_future<'py>(
    py: Python<'py>,
    rt: &Handle,
    fileobj: &Bound<'py, PyAny>,
    write: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let dir = if write {
        Direction::Write
    } else {
        Direction::Read
    };
    let fd = fileobj_to_fd(fileobj)?;
    let afd = register(rt, fd, dir)?;
    // Dropped by a runtime thread if the fd never gets ready: see off_gil.
    let none = Refs::new(py.None());
    delivery::spawn_future(py, rt, move |deliver| async move {
        let ready = afd.ready(dir.interest()).await.map(drop);
        drop(afd);
        let none = Refs::into_inner(none);
        let outcome = match ready {
            Ok(()) => Outcome::Value(none),
            Err(e) => {
                crate::off_gil::release(none);
                Outcome::Error(e.into())
            }
        };
        deliver.deliver(outcome);
    })
}
