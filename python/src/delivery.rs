//! Batched delivery of outcomes to an asyncio event loop.
//!
//! # Design
//! Each asyncio loop that awaits runtime objects gets one [`Delivery`]: a
//! queue of `(asyncio future, outcome)` pairs and a `scheduled` flag, both
//! behind one mutex. Producers (runtime threads, or Python threads
//! completing a `Completion`) push; the first push into an unscheduled
//! queue sets `scheduled` and wakes the loop **once**; every later push
//! until the drain runs only appends. The drain runs on the loop's thread,
//! takes the whole queue and clears `scheduled` under the lock, then sets
//! each future that is not already done (its awaiter may have been
//! cancelled). So N completions that become ready together cost one
//! wake-up of the loop, not N.
//!
//! The wake-up is, in order of preference:
//! - **eventfd**: the loop watches an eventfd with `loop.add_reader(efd,
//!   drain)`; waking is one `write(2)` and needs no GIL, so runtime threads
//!   deliver timer and I/O results without touching Python at all.
//! - **`loop.call_soon_threadsafe(drain)`**, for loops without
//!   `add_reader` (or where it fails). The loop is held weakly; if it is
//!   gone or closed, the queue is marked closed and its items dropped.
//!
//! Producer/consumer protocol (both variants): producer = lock, push, test
//! and set `scheduled`, unlock, wake if it set it. Drain = (eventfd: read
//! the counter), lock, take all, clear `scheduled`, unlock, set futures. A
//! push racing with a drain either lands in the batch being taken or sees
//! `scheduled == false` and wakes again; a wake-up with nothing queued is
//! harmless.
//!
//! The per-loop `Delivery` objects are kept in a `WeakKeyDictionary` keyed
//! by the loop; nothing in a `Delivery` refers to its loop strongly but
//! the futures queued for it, so they die with their loop (closing the
//! eventfd). A queue is closed when its loop is: the eventfd's drain is
//! dropped when the loop lets go of its readers at `close()`, and
//! `call_soon_threadsafe` fails on a closed loop. A closed queue drops
//! what it holds and every later item, so no future keeps a closed loop
//! alive.
//!
//! A runtime task that completes an asyncio future (`rt.sleep`,
//! `rt.wait_readable`, see [`spawn_future`]) owns a [`Deliver`]: if the
//! task is dropped before it delivered (the runtime shut down), the future
//! is cancelled, as the future of an `await task` is when a shutdown
//! cancels the task, so its awaiter never waits for ever.
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyDict;
use runtime_core::locks::Mutex;
use runtime_core::runtime::Handle;
use runtime_core::task::AbortHandle;

use crate::cell::Outcome;
use crate::off_gil::Refs;

struct Queue {
    items: Vec<(Py<PyAny>, Outcome)>,
    scheduled: bool,
    closed: bool,
}

impl Drop for Queue {
    /// The last reference to a [`Delivery`] may be a runtime thread's.
    fn drop(&mut self) {
        crate::off_gil::release(std::mem::take(&mut self.items));
    }
}

/// How a [`Delivery`] wakes its loop.
enum Wake {
    /// An eventfd the loop watches with `add_reader`.
    EventFd(OwnedFd),
    /// `weakref.ref(loop)`; wake with `loop.call_soon_threadsafe(drain)`.
    Threadsafe(Refs<Py<PyAny>>),
}

/// See the module documentation.
pub(crate) struct Delivery {
    wake: Wake,
    queue: Mutex<Queue>,
    /// Wake-ups sent and drains run (for tests and diagnostics).
    wakeups: AtomicU64,
    drains: AtomicU64,
}

impl Delivery {
    /// Queues `future` to receive `outcome` on its loop; wakes the loop if
    /// this is the first item of a batch. Needs the GIL only for the
    /// `call_soon_threadsafe` fallback.
    pub(crate) fn push(self: &Arc<Self>, future: Py<PyAny>, outcome: Outcome) {
        {
            let mut q = self.queue.lock();
            if q.closed {
                drop(q);
                crate::off_gil::release((future, outcome));
                return;
            }
            q.items.push((future, outcome));
            if q.scheduled {
                return;
            }
            q.scheduled = true;
        }
        self.wakeups.fetch_add(1, Ordering::Relaxed);
        match &self.wake {
            Wake::EventFd(fd) => {
                let one: u64 = 1;
                // SAFETY: writes 8 bytes from a live u64 to an eventfd we
                // own. A failure (counter overflow, impossible here) only
                // means the loop is already due to wake.
                let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
            }
            Wake::Threadsafe(loop_ref) => {
                // Refused at interpreter exit: the loop will not run again.
                let _ = crate::gil::with_gil(|py| {
                    let res = (|| -> PyResult<()> {
                        let lp = loop_ref.bind(py).call0()?;
                        if lp.is_none() {
                            return Err(pyo3::exceptions::PyRuntimeError::new_err("loop is gone"));
                        }
                        let d = Py::new(py, Drain(self.clone(), false))?;
                        lp.call_method1(intern!(py, "call_soon_threadsafe"), (d,))?;
                        Ok(())
                    })();
                    if res.is_err() {
                        // The loop is closed or gone: nobody will drain.
                        self.close();
                    }
                });
            }
        }
    }

    /// Nobody will drain again (the loop is closed or gone): drops what is
    /// queued, and every later push drops its item at once. Without this a
    /// queued future, which refers to its loop, would keep the loop (and
    /// its registry entry, and this queue) alive for ever.
    fn close(&self) {
        let dropped = {
            let mut q = self.queue.lock();
            q.closed = true;
            q.scheduled = false;
            std::mem::take(&mut q.items)
        };
        crate::off_gil::release(dropped);
    }

    fn drain(&self, py: Python<'_>) {
        self.drains.fetch_add(1, Ordering::Relaxed);
        if let Wake::EventFd(fd) = &self.wake {
            let mut buf: u64 = 0;
            // SAFETY: reads at most 8 bytes into a live u64 from our
            // non-blocking eventfd; EAGAIN (nothing to read) is fine.
            let _ = unsafe { libc::read(fd.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
        }
        let items = {
            let mut q = self.queue.lock();
            q.scheduled = false;
            std::mem::take(&mut q.items)
        };
        for (future, outcome) in items {
            let fut = future.bind(py);
            // A cancelled awaiter leaves a done future behind: skip it.
            match fut.call_method0(intern!(py, "done")) {
                Ok(d) if d.is_truthy().unwrap_or(true) => continue,
                Ok(_) => {}
                Err(e) => {
                    e.write_unraisable(py, Some(fut));
                    continue;
                }
            }
            if let Err(e) = set_future(py, fut, outcome) {
                e.write_unraisable(py, Some(fut));
            }
        }
    }
}

/// Copies `outcome` into the asyncio future `fut` (loop thread, GIL held).
pub(crate) fn set_future(py: Python<'_>, fut: &Bound<'_, PyAny>, outcome: Outcome) -> PyResult<()> {
    match outcome {
        Outcome::Value(v) => fut.call_method1(intern!(py, "set_result"), (v,))?,
        Outcome::Error(e) => {
            let exc = e.into_value(py).into_bound(py);
            match fut.call_method1(intern!(py, "set_exception"), (&exc,)) {
                Ok(r) => r,
                // asyncio before 3.12 refuses StopIteration (TypeError),
                // which would leave the awaiter waiting for ever: hand it a
                // RuntimeError caused by the original, as 3.12 does.
                Err(refused) if refused.is_instance_of::<pyo3::exceptions::PyTypeError>(py) => {
                    let err = pyo3::exceptions::PyRuntimeError::new_err(format!(
                        "{} cannot be raised into a Future",
                        exc.get_type().name()?
                    ));
                    err.set_cause(py, Some(PyErr::from_value(exc.into_any())));
                    fut.call_method1(intern!(py, "set_exception"), (err.into_value(py),))?
                }
                Err(other) => return Err(other),
            }
        }
        Outcome::Cancelled => fut.call_method0(intern!(py, "cancel"))?,
    };
    Ok(())
}

/// The callable the loop runs to drain a batch. The one registered with
/// `add_reader` (`true`) lives as long as the loop watches the eventfd: a
/// loop lets go of its readers when it is closed, so its drop closes the
/// queue.
#[pyclass(frozen, module = "runtime._runtime")]
struct Drain(Arc<Delivery>, bool);

impl Drop for Drain {
    fn drop(&mut self) {
        if self.1 {
            self.0.close();
        }
    }
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        self.0.drain(py);
    }
}

/// Holder stored in the per-loop registry.
#[pyclass(frozen, module = "runtime._runtime")]
struct LoopDelivery(Arc<Delivery>);

static REGISTRY: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
static STRONG_REGISTRY: GILOnceCell<Py<PyDict>> = GILOnceCell::new();

/// The running loop's delivery queue and a fresh future on that loop.
pub(crate) fn loop_future(py: Python<'_>) -> PyResult<(Arc<Delivery>, Bound<'_, PyAny>)> {
    let lp = crate::running_loop::running_loop(py)?;
    let delivery = delivery_for(py, &lp)?;
    let fut = lp.call_method0(intern!(py, "create_future"))?;
    Ok((delivery, fut))
}

fn lookup(py: Python<'_>, lp: &Bound<'_, PyAny>) -> PyResult<Option<Arc<Delivery>>> {
    let registry = REGISTRY
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("weakref")?
                .getattr("WeakKeyDictionary")?
                .call0()?
                .unbind())
        })?
        .bind(py);
    if let Ok(Some(found)) = registry
        .call_method1(intern!(py, "get"), (lp,))
        .map(|v| v.downcast_into::<LoopDelivery>().ok())
    {
        return Ok(Some(found.get().0.clone()));
    }
    let strong = STRONG_REGISTRY
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py);
    if let Ok(Some(found)) = strong.get_item(lp) {
        if let Ok(d) = found.downcast_into::<LoopDelivery>() {
            return Ok(Some(d.get().0.clone()));
        }
    }
    Ok(None)
}

fn new_delivery(wake: Wake) -> Arc<Delivery> {
    Arc::new(Delivery {
        wake,
        queue: Mutex::new(Queue {
            items: Vec::new(),
            scheduled: false,
            closed: false,
        }),
        wakeups: AtomicU64::new(0),
        drains: AtomicU64::new(0),
    })
}

/// An eventfd-woken delivery registered with `lp.add_reader`, if the loop
/// supports it.
fn eventfd_delivery(py: Python<'_>, lp: &Bound<'_, PyAny>) -> Option<Arc<Delivery>> {
    // SAFETY: eventfd has no memory arguments; it returns a new fd or -1.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` was just returned by eventfd, open and owned by nobody.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let delivery = new_delivery(Wake::EventFd(fd));
    let drain = Py::new(py, Drain(delivery.clone(), true)).ok()?;
    match lp.call_method1(intern!(py, "add_reader"), (raw, &drain)) {
        Ok(_) => Some(delivery),
        // e.g. NotImplementedError: the caller falls back to
        // call_soon_threadsafe with a delivery of its own; this one (and
        // its drain) is dropped unused.
        Err(_) => None,
    }
}

/// The [`Delivery`] of asyncio loop `lp`, created on first use (on the
/// loop's thread).
pub(crate) fn delivery_for(py: Python<'_>, lp: &Bound<'_, PyAny>) -> PyResult<Arc<Delivery>> {
    if let Some(d) = lookup(py, lp)? {
        return Ok(d);
    }
    let delivery = match eventfd_delivery(py, lp) {
        Some(d) => d,
        None => {
            let weak = py.import("weakref")?.getattr("ref")?;
            let loop_ref = match weak.call1((lp,)) {
                Ok(r) => r,
                // Not weakly referenceable: a closure that returns the loop.
                Err(_) => py
                    .eval(pyo3::ffi::c_str!("lambda lp: (lambda: lp)"), None, None)?
                    .call1((lp,))?,
            };
            new_delivery(Wake::Threadsafe(Refs::new(loop_ref.unbind())))
        }
    };
    let holder = Py::new(py, LoopDelivery(delivery.clone()))?;
    let registry = REGISTRY.get(py).expect("initialized by lookup").bind(py);
    if registry.set_item(lp, &holder).is_err() {
        // A loop type without weak references: keep it in a plain dict and
        // forget closed loops whenever a new one is added.
        let strong = STRONG_REGISTRY
            .get(py)
            .expect("initialized by lookup")
            .bind(py);
        let closed: Vec<Bound<'_, PyAny>> = strong
            .keys()
            .iter()
            .filter(|k| {
                k.call_method0(intern!(py, "is_closed"))
                    .and_then(|c| c.is_truthy())
                    .unwrap_or(false)
            })
            .collect();
        for k in closed {
            strong.del_item(k)?;
        }
        strong.set_item(lp, holder)?;
    }
    Ok(delivery)
}

/// Owned by the runtime task that completes an asyncio future: delivers
/// the task's outcome, or, if the task is dropped first (runtime shutdown
/// or drop), cancels the future, as [`crate::cell::CancelOnDrop`] cancels
/// a task's cell. Nothing is pushed once the future is done (`abandoned`,
/// set by [`AbortOnDone`]): its awaiter gave up and the drain would skip
/// it anyway.
///
/// Its drop may take the GIL (`push` through `call_soon_threadsafe`), so,
/// like `CancelOnDrop`, it is never wrapped in [`Refs`] nor dropped inside
/// an `off_gil` section: it is owned by the task's future itself.
pub(crate) struct Deliver {
    delivery: Arc<Delivery>,
    /// The asyncio future; taken by [`Deliver::deliver`] or the drop.
    future: Option<Refs<Py<PyAny>>>,
    abandoned: Arc<AtomicBool>,
}

impl Deliver {
    /// Completes the future with `outcome` on its loop.
    pub(crate) fn deliver(mut self, outcome: Outcome) {
        if let Some(future) = self.future.take() {
            self.delivery.push(Refs::into_inner(future), outcome);
        }
    }
}

impl Drop for Deliver {
    fn drop(&mut self) {
        let Some(future) = self.future.take() else {
            return;
        };
        if self.abandoned.load(Ordering::Acquire) {
            // `future` (a `Refs`) goes through the fork gate.
            return;
        }
        self.delivery
            .push(Refs::into_inner(future), Outcome::Cancelled);
    }
}

/// Aborts a runtime task when the asyncio future it feeds is done (for
/// example cancelled), so a cancelled `await rt.sleep(...)` frees its
/// timer; marks the task's [`Deliver`] abandoned first.
#[pyclass(frozen, module = "runtime._runtime")]
struct AbortOnDone {
    abort: AbortHandle,
    abandoned: Arc<AtomicBool>,
}

#[pymethods]
impl AbortOnDone {
    fn __call__(&self, _future: Bound<'_, PyAny>) {
        self.abandoned.store(true, Ordering::Release);
        self.abort.abort();
    }
}

/// A fresh asyncio future on the running loop, completed by the runtime
/// task `make(deliver)` (spawned on `rt`) through `deliver`; cancelled if
/// that task is dropped before it delivers. The task is aborted once the
/// future is done (its awaiter was cancelled).
pub(crate) fn spawn_future<'py, F>(
    py: Python<'py>,
    rt: &Handle,
    make: impl FnOnce(Deliver) -> F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (delivery, fut) = loop_future(py)?;
    let abandoned = Arc::new(AtomicBool::new(false));
    let deliver = Deliver {
        delivery,
        future: Some(Refs::new(fut.clone().unbind())),
        abandoned: abandoned.clone(),
    };
    let join = rt.spawn(make(deliver));
    on_future_done(
        &fut,
        Bound::new(
            py,
            AbortOnDone {
                abort: join.abort_handle(),
                abandoned,
            },
        )?
        .into_any(),
    )?;
    Ok(fut)
}

/// `future.__await__()` for a freshly created loop future.
pub(crate) fn await_future<'py>(fut: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    fut.call_method0(intern!(fut.py(), "__await__"))
}

/// Registers `fut.add_done_callback(cb)`.
pub(crate) fn on_future_done(fut: &Bound<'_, PyAny>, cb: Bound<'_, PyAny>) -> PyResult<()> {
    fut.call_method1(intern!(fut.py(), "add_done_callback"), (cb,))?;
    Ok(())
}

/// `_delivery_stats(loop)`: how the loop is woken and how often, for tests:
/// `{"mode": "eventfd" | "call_soon_threadsafe", "wakeups": n, "drains": m}`,
/// or None if the loop never awaited a runtime object.
#[pyfunction]
pub(crate) fn _delivery_stats<'py>(
    py: Python<'py>,
    lp: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(d) = lookup(py, lp)? else {
        return Ok(None);
    };
    let out = PyDict::new(py);
    out.set_item(
        "mode",
        match d.wake {
            Wake::EventFd(_) => "eventfd",
            Wake::Threadsafe(_) => "call_soon_threadsafe",
        },
    )?;
    out.set_item("wakeups", d.wakeups.load(Ordering::Relaxed))?;
    out.set_item("drains", d.drains.load(Ordering::Relaxed))?;
    Ok(Some(out))
}

/// `types.GenericAlias(cls, item)`, for `__class_getitem__`.
pub(crate) fn generic_alias<'py>(
    cls: &Bound<'py, pyo3::types::PyType>,
    item: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    py.import("types")?
        .getattr("GenericAlias")?
        .call1((cls, item))
}
