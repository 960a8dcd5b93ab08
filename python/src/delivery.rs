//! Batched delivery of outcomes to an asyncio event loop.
//!
//! # Design
//! Each asyncio loop that awaits runtime objects gets one [`Delivery`]: a
//! queue of `(asyncio future, outcome)` pairs and a `scheduled` flag, both
//! behind one mutex. Producers (runtime threads, or Python threads
//! completing a `Completion`) push; the first push into an unscheduled
//! queue sets `scheduled` and makes **one** `loop.call_soon_threadsafe(drain)`
//! call. Every later push until the drain runs only appends. The drain runs
//! on the loop's thread, takes the whole queue and clears `scheduled` under
//! the lock, then sets each future that is not already done (its awaiter
//! may have been cancelled). So N completions that become ready together
//! cost one wake-up of the loop, not N.
//!
//! Pushing needs no GIL; only the wake-up call takes it. If the loop is
//! closed, `call_soon_threadsafe` fails: the queue is marked closed and
//! everything in it (and pushed later) is dropped, as nobody can await it.
//!
//! The per-loop `Delivery` objects are kept in a `WeakKeyDictionary` keyed
//! by the loop, so they die with their loop.
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyDict;

use crate::cell::{is_python_alive, Outcome};

struct Queue {
    items: Vec<(Py<PyAny>, Outcome)>,
    scheduled: bool,
    closed: bool,
}

/// See the module documentation.
pub(crate) struct Delivery {
    call_soon_threadsafe: Py<PyAny>,
    queue: Mutex<Queue>,
}

impl Delivery {
    /// Queues `future` to receive `outcome` on its loop; wakes the loop if
    /// this is the first item of a batch.
    pub(crate) fn push(self: &Arc<Self>, future: Py<PyAny>, outcome: Outcome) {
        {
            let mut q = self.queue.lock();
            if q.closed {
                drop(q);
                drop((future, outcome));
                return;
            }
            q.items.push((future, outcome));
            if q.scheduled {
                return;
            }
            q.scheduled = true;
        }
        if !is_python_alive() {
            return;
        }
        Python::with_gil(|py| {
            let drain = Drain(self.clone());
            let res = Py::new(py, drain).and_then(|d| self.call_soon_threadsafe.call1(py, (d,)));
            if res.is_err() {
                // The loop is closed: nobody will ever run the drain.
                let dropped = {
                    let mut q = self.queue.lock();
                    q.closed = true;
                    q.scheduled = false;
                    std::mem::take(&mut q.items)
                };
                drop(dropped);
            }
        });
    }

    fn drain(&self, py: Python<'_>) {
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
        Outcome::Error(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),))?,
        Outcome::Cancelled => fut.call_method0(intern!(py, "cancel"))?,
    };
    Ok(())
}

/// The callable a batch's wake-up schedules on the loop.
#[pyclass(frozen, module = "runtime._runtime")]
struct Drain(Arc<Delivery>);

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        self.0.drain(py);
    }
}

/// Holder stored in the per-loop registry.
#[pyclass(frozen, module = "runtime._runtime")]
struct LoopDelivery(Arc<Delivery>);

static GET_RUNNING_LOOP: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
static REGISTRY: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
static STRONG_REGISTRY: GILOnceCell<Py<PyDict>> = GILOnceCell::new();

/// `asyncio.get_running_loop()`; raises `RuntimeError` outside a loop.
pub(crate) fn running_loop<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    let f = GET_RUNNING_LOOP.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    f.bind(py).call0()
}

/// The running loop, its delivery queue and a fresh future on it.
pub(crate) fn loop_future<'py>(py: Python<'py>) -> PyResult<(Arc<Delivery>, Bound<'py, PyAny>)> {
    let lp = running_loop(py)?;
    let delivery = delivery_for(py, &lp)?;
    let fut = lp.call_method0(intern!(py, "create_future"))?;
    Ok((delivery, fut))
}

/// The [`Delivery`] of asyncio loop `lp`, created on first use.
pub(crate) fn delivery_for(py: Python<'_>, lp: &Bound<'_, PyAny>) -> PyResult<Arc<Delivery>> {
    let registry = REGISTRY
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("weakref")?
                .getattr("WeakKeyDictionary")?
                .call0()?
                .unbind())
        })?
        .bind(py);
    let strong = STRONG_REGISTRY
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py);
    if let Ok(Some(found)) = registry
        .call_method1(intern!(py, "get"), (lp,))
        .map(|v| v.downcast_into::<LoopDelivery>().ok())
    {
        return Ok(found.get().0.clone());
    }
    if let Some(found) = strong.get_item(lp)? {
        if let Ok(d) = found.downcast_into::<LoopDelivery>() {
            return Ok(d.get().0.clone());
        }
    }
    let delivery = Arc::new(Delivery {
        call_soon_threadsafe: lp.getattr(intern!(py, "call_soon_threadsafe"))?.unbind(),
        queue: Mutex::new(Queue {
            items: Vec::new(),
            scheduled: false,
            closed: false,
        }),
    });
    let holder = Py::new(py, LoopDelivery(delivery.clone()))?;
    if registry.set_item(lp, &holder).is_err() {
        // A loop type without weak references: keep it in a plain dict and
        // forget closed loops whenever a new one is added.
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

/// `future.__await__()` for a freshly created loop future.
pub(crate) fn await_future<'py>(fut: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    fut.call_method0(intern!(fut.py(), "__await__"))
}

/// Registers `fut.add_done_callback(cb)`.
pub(crate) fn on_future_done(fut: &Bound<'_, PyAny>, cb: Bound<'_, PyAny>) -> PyResult<()> {
    fut.call_method1(intern!(fut.py(), "add_done_callback"), (cb,))?;
    Ok(())
}
