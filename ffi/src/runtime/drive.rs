//! Driving a current-thread runtime from C: `rt_runtime_run` (until
//! stopped), `rt_runtime_run_once` (one pass) and `rt_runtime_stop`.
//!
//! Invariants: at most one thread drives a runtime at a time (it holds
//! `Shared::rt`'s lock for the whole pass; a second driver gets
//! `RT_ERR_INVALID`); no driver starts once a shutdown began, and a
//! shutdown that gives up waiting for a driver hands the runtime over to
//! it (`StopState`, in the parent module, has the protocol); a callback
//! never drives its own runtime (`RT_ERR_WOULD_DEADLOCK`).
use super::{rt_runtime, shared_of, shut_down_until, Shared, RT_FOREVER};
use crate::callback::in_runtime_callback;
use crate::error::{self, non_null, rt_status, Error, Result};
use runtime_core::runtime::{Runtime, RuntimeFlavor};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

/// Resolves once a stop was requested (consuming the request).
struct StopSignal<'a>(&'a Shared);
impl Future for StopSignal<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.stop.lock().unwrap_or_else(|e| e.into_inner());
        if s.requested {
            s.requested = false;
            return Poll::Ready(());
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Runs `f` with the current-thread runtime locked for driving. Works on
/// its own reference to `Shared`: a callback may free the `rt_runtime`
/// box (rt_runtime_free) while `f` runs.
fn with_current_thread_rt<R>(
    rt: *mut rt_runtime,
    f: impl FnOnce(&Shared, &Runtime) -> R,
) -> Result<R> {
    // SAFETY: NULL or live per the callers' contracts.
    let shared = unsafe { shared_of(rt) }?;
    let shared = &*shared;
    shared.check_open()?;
    if shared.flavor != RuntimeFlavor::CurrentThread {
        return Err(Error::invalid(
            "only a current-thread runtime (RT_FLAVOR_CURRENT_THREAD) is driven by the caller",
        ));
    }
    if in_runtime_callback() {
        return Err(Error::new(
            rt_status::RT_ERR_WOULD_DEADLOCK,
            "cannot drive the runtime from inside one of its callbacks",
        ));
    }
    let mut guard = shared.rt.try_lock().map_err(|e| match e {
        std::sync::TryLockError::WouldBlock => {
            Error::invalid("the runtime is already being driven by another rt_runtime_run")
        }
        std::sync::TryLockError::Poisoned(_) => Error::invalid("the runtime is poisoned"),
    })?;
    let Some(runtime) = guard.as_ref() else {
        return Err(Error::shutdown());
    };
    {
        // See `StopState`: no driver starts once a shutdown began.
        let mut s = shared.stop.lock().unwrap_or_else(|e| e.into_inner());
        if shared.is_shut() {
            return Err(Error::shutdown());
        }
        s.driving = true;
    }
    // Clears `driving` however `f` ends (a callback's panic is caught
    // inside, but stay correct if one escapes).
    struct Leave<'a>(&'a Shared, bool);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            if self.1 {
                let mut s = self.0.stop.lock().unwrap_or_else(|e| e.into_inner());
                s.driving = false;
                drop(s);
                self.0.undriven.notify_all();
            }
        }
    }
    let mut leave = Leave(shared, true);
    let out = f(shared, runtime);
    let hand_over = {
        let mut s = shared.stop.lock().unwrap_or_else(|e| e.into_inner());
        s.driving = false;
        s.dropping = std::mem::take(&mut s.hand_over);
        s.dropping.then_some(s.hand_over_deadline)
    };
    leave.1 = false;
    if let Some(deadline) = hand_over {
        // A shutdown gave up waiting for this pass: the runtime is shut
        // down here, on the thread that drove it, as that shutdown would
        // have.
        let runtime = guard.take();
        drop(guard);
        if let Some(rt) = runtime {
            shut_down_until(rt, deadline);
        }
        shared
            .stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dropping = false;
    } else {
        drop(guard);
    }
    shared.undriven.notify_all();
    shared.check_open()?;
    Ok(out)
}

/// Current-thread flavor: runs the loop on the calling thread (every task,
/// timer, watch and queue callback runs here) until rt_runtime_stop is
/// called or the runtime is shut down from another thread.
///
/// A stop requested before the call makes it return after one pass.
/// Returns RT_OK when stopped, RT_ERR_SHUTDOWN when shut down.
///
/// Errors: RT_ERR_NULL; RT_ERR_INVALID (multi-thread flavor, or another
/// thread is already driving it); RT_ERR_WOULD_DEADLOCK (from inside a
/// callback); RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_run(rt: *mut rt_runtime) -> rt_status {
    error::status("rt_runtime_run", || {
        with_current_thread_rt(rt, |shared, runtime| {
            runtime.block_on(StopSignal(shared));
        })
    })
}

/// Current-thread flavor: runs every task that is ready now, waits up to
/// `timeout_ms` for timers or fd events if nothing was ready (0 = don't
/// wait, RT_FOREVER = until something happens), runs what became ready,
/// and returns. Callbacks run on the calling thread.
///
/// Errors: as rt_runtime_run.
///
/// # Safety
/// `rt` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_run_once(rt: *mut rt_runtime, timeout_ms: u64) -> rt_status {
    error::status("rt_runtime_run_once", || {
        with_current_thread_rt(rt, |shared, runtime| {
            turn(shared, runtime, timeout_ms);
        })
    })
}

/// Asks rt_runtime_run to return; callable from any thread, including
/// from inside a callback. Idempotent: stopping twice is RT_OK.
///
/// Errors: RT_ERR_NULL; RT_ERR_INVALID (multi-thread flavor);
/// RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` must be NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_stop(rt: *mut rt_runtime) -> rt_status {
    error::status("rt_runtime_stop", || {
        // SAFETY: NULL or live per the contract.
        let rt = unsafe { non_null(rt, "rt") }?;
        rt.shared.check_open()?;
        if rt.shared.flavor != RuntimeFlavor::CurrentThread {
            return Err(Error::invalid(
                "rt_runtime_stop applies to the current-thread flavor only",
            ));
        }
        rt.shared.request_stop();
        Ok(())
    })
}

/// One pass of the current-thread loop: `Runtime::turn`, waiting at most
/// `timeout_ms` when nothing was ready. `RT_FOREVER` (or any wait too long
/// for one park) waits in day-long slices until a task ran or a stop was
/// requested.
fn turn(shared: &Shared, runtime: &Runtime, timeout_ms: u64) {
    const SLICE_MS: u64 = 24 * 60 * 60 * 1000;
    let mut left = timeout_ms;
    loop {
        let wait = left.min(SLICE_MS);
        let inline = shared.inline_calls.load(Ordering::Relaxed);
        let polls = runtime.turn(Duration::from_millis(wait));
        if timeout_ms != RT_FOREVER {
            left -= wait;
        }
        // An fd callback run straight from the reactor (fd_level.rs) is
        // progress too, though no task ran for it.
        let called = shared.inline_calls.load(Ordering::Relaxed) != inline;
        if shared.take_stop() || polls > 0 || called || left == 0 || shared.is_shut() {
            return;
        }
    }
}
