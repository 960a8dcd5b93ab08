//! Timers: `call_later`, `call_at`, `call_every`, `sleep`, and the clock
//! they share.
//!
//! # Design
//! Every timer is one runtime task that sleeps on the runtime's timer wheel
//! (`runtime_core::time::sleep_until`) and then takes the GIL to call the
//! Python callback on a runtime worker thread. Its [`TimerHandle`] shares a
//! [`TimerState`] with the task:
//!
//! - `reg` ([`Registration`], shared with the fd watchers): `cancelled`
//!   is set by `TimerHandle.cancel()` (a runtime shutdown
//!   drops the task without setting it, as asyncio's `loop.close()` leaves
//!   its handles uncancelled); the task checks it under the GIL right
//!   before each call, so no callback starts after `cancel()` returned.
//!   `cancel()` also takes the callback and its arguments out of the
//!   runtime's [`Callbacks`] (dropping them) and aborts the task, which
//!   frees the wheel entry.
//!   Its `key` is where the callback is in the runtime's [`Callbacks`]:
//!   the task holds no Python reference, so the garbage collector sees the
//!   callback through the runtime (see [`crate::callbacks`]). A one-shot
//!   timer's callback leaves the registry with its call.
//! - `when` is the next deadline in `rt.time()` seconds, updated by a
//!   repeating timer after each tick.
//!
//! An exception raised by a callback goes to the runtime's exception handler
//! (default: the `runtime` logger), as asyncio does for loop callbacks; a
//! repeating timer keeps running.
//!
//! A repeating timer's period is at least one nanosecond (a shorter
//! positive interval is rounded up), so that a tick always moves the
//! deadline forward.
//!
//! The clock is `CLOCK_MONOTONIC`, the clock of `time.monotonic()` and of
//! asyncio's default `loop.time()`, so deadlines computed by Python code
//! line up with the runtime's. Negative or NaN delays mean "now".
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::GILProtected;
use pyo3::types::{PyInt, PyTuple, PyWeakrefMethods, PyWeakrefReference};
use runtime_core::locks::Mutex;
use runtime_core::runtime::Handle;
use runtime_core::time::{sleep, sleep_until, Instant};

use crate::callbacks::{Callbacks, Entry, Registration};
use crate::cell::Outcome;
use crate::delivery;
use crate::off_gil::Refs;

/// The longest delay a timer accepts; longer ones saturate (about 30 years).
const MAX_DELAY: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Seconds on `CLOCK_MONOTONIC`.
pub(crate) fn monotonic_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always
    // supported on the platforms this crate builds for.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Converts a delay in seconds into a duration: negative or NaN delays mean
/// "now", huge ones saturate.
pub(crate) fn delay_to_duration(delay: f64) -> Duration {
    if delay.is_nan() || delay <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(delay)
            .unwrap_or(MAX_DELAY)
            .min(MAX_DELAY)
    }
}

/// A delay argument in seconds, as `float(obj)` gives it; an exact `int`
/// (what `sleep(0)` passes) is read without making a float object.
pub(crate) fn delay_seconds(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(int) = obj.downcast_exact::<PyInt>() {
        if let Ok(v) = int.extract::<i64>() {
            return Ok(v as f64);
        }
    }
    obj.extract()
}

/// State shared by a [`TimerHandle`] and its runtime task.
struct TimerState {
    reg: Registration,
    when: Mutex<f64>,
    repeating: bool,
}

/// A scheduled callback (`call_later`, `call_at`, `call_every`).
#[pyclass(frozen, weakref, module = "runtime")]
pub(crate) struct TimerHandle {
    state: Arc<TimerState>,
}

#[pymethods]
impl TimerHandle {
    /// Cancels the timer: its callback will not start after this returns
    /// (a call already running finishes). Idempotent.
    fn cancel(&self, py: Python<'_>) {
        self.state.reg.cancel(py);
    }

    /// True once `cancel()` was called.
    fn cancelled(&self) -> bool {
        self.state.reg.is_cancelled()
    }

    /// The (next) deadline, in `Runtime.time()` seconds.
    fn when(&self) -> f64 {
        *self.state.when.lock()
    }

    fn __repr__(&self) -> String {
        format!(
            "<runtime.TimerHandle when={:.6}{}{}>",
            self.when(),
            if self.state.repeating {
                " repeating"
            } else {
                ""
            },
            if self.cancelled() { " cancelled" } else { "" }
        )
    }
}

/// When a timer first fires, as its Python method gave it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FirstAt {
    /// `call_later` / `call_every`: this many seconds from now.
    After(f64),
    /// `call_at`: at this `rt.time()`; `TimerHandle.when()` reports it as
    /// given (as asyncio does), even when it is already past.
    At(f64),
}

/// Schedules `func(*args)` at `first`, every `period` seconds after that
/// when `period` is given.
pub(crate) fn schedule(
    py: Python<'_>,
    rt: &Handle,
    callbacks: &Arc<Callbacks>,
    first: FirstAt,
    period: Option<Duration>,
    func: Bound<'_, PyAny>,
    args: Bound<'_, PyTuple>,
) -> PyResult<Py<TimerHandle>> {
    crate::rt::check_callable(&func)?;
    // A zero period would never move the deadline forward.
    let period = period.map(|p| p.max(Duration::from_nanos(1)));
    let now = monotonic_now();
    let (dur, when) = match first {
        FirstAt::After(delay) => {
            let dur = delay_to_duration(delay);
            (dur, now + dur.as_secs_f64())
        }
        FirstAt::At(at) => {
            let dur = delay_to_duration(at - now);
            let when = if at.is_finite() {
                at
            } else {
                now + dur.as_secs_f64()
            };
            (dur, when)
        }
    };
    let first = Instant::now() + dur;
    let state = Arc::new(TimerState {
        reg: Registration::new(callbacks),
        when: Mutex::new(when),
        repeating: period.is_some(),
    });
    let handle = Py::new(
        py,
        TimerHandle {
            state: state.clone(),
        },
    )?;
    let key = state.reg.register(
        py,
        Entry {
            func: func.unbind(),
            args: args.unbind(),
            handle: handle.clone_ref(py).into_any(),
            what: "Exception in timer callback",
        },
    );
    let st = state.clone();
    let join = match period {
        None => rt.spawn(async move {
            sleep_until(first).await;
            let _ = st.reg.fire(key, true);
        }),
        Some(period) => rt.spawn(async move {
            let mut next = first;
            loop {
                sleep_until(next).await;
                if !st.reg.fire(key, false) {
                    return;
                }
                // Missed ticks are skipped: the next deadline is the first
                // multiple of `period` after now.
                let now = Instant::now();
                next += period;
                if next <= now {
                    // `period` is at least 1 ns and at most `MAX_DELAY`,
                    // so the remainder fits in a u64 and the step is in
                    // (0, period].
                    let behind = now.duration_since(next).as_nanos();
                    let rem = behind % period.as_nanos();
                    next = now + (period - Duration::from_nanos(rem as u64));
                }
                *st.when.lock() =
                    monotonic_now() + next.saturating_duration_since(now).as_secs_f64();
            }
        }),
    };
    state.reg.set_task(join.abort_handle());
    Ok(handle)
}

/// `await rt.sleep(0, result)` (or a negative or NaN delay): as
/// `asyncio.sleep(0)` does, gives the loop one pass and returns `result`.
/// There is no deadline to wait for, so no runtime thread is involved: the
/// future (of a type from `runtime._sleep_zero_types()`, `asyncio.Future`
/// subclasses) is created completed, and awaiting it yields to the loop
/// once before returning the result, exactly as `asyncio.sleep(0)` does.
///
/// With no result (`None`), the future is the running loop's shared one:
/// a completed future can no longer change, so one per loop serves every
/// `rt.sleep(0)` there. It lives in the loop's attribute
/// [`SHARED_ATTR`] (a reference cycle through the future's loop, which the
/// garbage collector frees with the loop). [`LAST_SHARED`] remembers the
/// last one handed out, so that a loop awaiting `rt.sleep(0)` again finds
/// it without the attribute lookup. A loop that takes no attributes gets a
/// fresh future whenever the remembered one is not its own or has died.
pub(crate) fn sleep_zero<'py>(py: Python<'py>, result: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static TYPES: pyo3::sync::GILOnceCell<(Py<PyAny>, Py<PyAny>)> = pyo3::sync::GILOnceCell::new();
    // Fails (RuntimeError) outside a running loop.
    let lp = crate::running_loop::running_loop(py)?;
    let shared = result.is_none(py);
    if shared {
        if let Some(last) = LAST_SHARED.get(py).borrow().as_ref() {
            if last.lp == lp.as_ptr() as usize {
                if let Some(fut) = last.fut.bind(py).upgrade() {
                    return Ok(fut);
                }
            }
        }
    }
    let (general, none) = TYPES.get_or_try_init(py, || -> PyResult<_> {
        py.import("runtime")?
            .call_method0("_sleep_zero_types")?
            .extract::<(Py<PyAny>, Py<PyAny>)>()
    })?;
    if shared {
        // Only our own future counts (a loop with a catch-all
        // `__getattr__` could answer anything).
        if let Ok(fut) = lp.getattr(pyo3::intern!(py, SHARED_ATTR)) {
            if fut.get_type().is(none.bind(py)) {
                remember_shared(py, &lp, &fut);
                return Ok(fut);
            }
        }
    }
    let ty = if shared { none } else { general };
    // The loop is passed on so that the constructor does not look it up.
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item(pyo3::intern!(py, "loop"), &lp)?;
    let fut = ty.bind(py).call((), Some(&kwargs))?;
    fut.call_method1(pyo3::intern!(py, "set_result"), (result,))?;
    if shared {
        // A loop without instance attributes keeps no shared future.
        let _ = lp.setattr(pyo3::intern!(py, SHARED_ATTR), &fut);
        remember_shared(py, &lp, &fut);
    }
    Ok(fut)
}

/// The loop attribute that holds the loop's shared `rt.sleep(0)` future.
const SHARED_ATTR: &str = "_runtime_sleep_zero";

/// The last shared `rt.sleep(0)` future handed out, and its loop.
///
/// The future is held weakly, so that its loop can still be freed. While
/// the future is alive it holds its loop, so no other object can have that
/// loop's address: a live future remembered under the running loop's
/// address belongs to that loop.
struct LastShared {
    /// The address of the future's loop (compared, never dereferenced).
    lp: usize,
    fut: Py<PyWeakrefReference>,
}

static LAST_SHARED: GILProtected<RefCell<Option<LastShared>>> =
    GILProtected::new(RefCell::new(None));

/// Makes `fut` (the shared future of loop `lp`) the one [`LAST_SHARED`]
/// remembers.
fn remember_shared(py: Python<'_>, lp: &Bound<'_, PyAny>, fut: &Bound<'_, PyAny>) {
    let Ok(weak) = PyWeakrefReference::new(fut) else {
        return;
    };
    let last = LastShared {
        lp: lp.as_ptr() as usize,
        fut: weak.unbind(),
    };
    // The replaced entry is dropped after the borrow has ended.
    let old = LAST_SHARED.get(py).borrow_mut().replace(last);
    drop(old);
}

/// `await rt.sleep(seconds, result)`: an asyncio future on the running loop
/// that the runtime's timer completes (cancelled if the runtime shuts down
/// first).
pub(crate) fn sleep_future<'py>(
    py: Python<'py>,
    rt: &Handle,
    seconds: f64,
    result: Py<PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let dur = delay_to_duration(seconds);
    // Dropped by a runtime thread if the timer never fires: see off_gil.
    let result = Refs::new(result);
    delivery::spawn_future(py, rt, move |deliver| async move {
        sleep(dur).await;
        deliver.deliver(Outcome::Value(Refs::into_inner(result)));
    })
}
