//! Awaiting an `rt_task` from C: blocking (`rt_task_join`), as a leaf
//! future (`rt_task_poll`), or by callback (`rt_task_on_complete`); and
//! `rt_task_abort`, `rt_task_is_finished`, `rt_task_free`. The spawning
//! side is the parent module.
//!
//! Invariants: a task's outcome is handed out once (to a joiner or a
//! poller that saw `RT_READY`; the completion callback sees it besides);
//! every waker a poller registered is woken when the task completes; no
//! callback runs under the slot's lock.
use super::{rt_complete_fn, rt_poll, rt_task, slot_of, SlotState, TaskShared};
use crate::callback::{check_may_block, deadline, wait_counted, SendPtr};
use crate::error::{self, rt_status, Error, Result};
use crate::waker::rt_waker;
use std::ffi::c_void;
use std::sync::Arc;

/// Hands the outcome to a joiner (once).
fn take_outcome(s: &mut SlotState, result: *mut *mut c_void) -> Result<()> {
    let (st, r) = s.outcome.expect("checked by caller");
    if s.joined {
        return Err(Error::invalid("the task was already joined"));
    }
    s.joined = true;
    if !result.is_null() {
        let v = if st == rt_status::RT_OK {
            r.0
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: non-NULL and writable per the callers' contracts.
        unsafe { result.write(v) };
    }
    match st {
        rt_status::RT_OK => Ok(()),
        rt_status::RT_ERR_CANCELLED => Err(Error::new(st, "the task was aborted")),
        rt_status::RT_ERR_INVALID => Err(Error::new(
            st,
            "the task's poll function returned a value other than RT_PENDING or RT_READY",
        )),
        rt_status::RT_ERR_SHUTDOWN => Err(Error::new(
            st,
            "the runtime shut down before the task completed",
        )),
        _ => Err(Error::new(st, "the task failed")),
    }
}

/// Blocks the calling thread until the task finishes or `timeout_ms`
/// elapses (0 = just check; RT_FOREVER = no limit), then stores the
/// task's result in `*result` (may be NULL; set to NULL unless RT_OK).
///
/// A task's outcome is handed out once: a second join (or a join after
/// rt_task_poll returned RT_READY) fails with RT_ERR_INVALID. A task that
/// had completed stays joinable after shutdown. On the current-thread
/// flavor a task only makes progress while some thread is inside
/// rt_runtime_run / rt_runtime_run_once.
///
/// Returns RT_OK, RT_ERR_TIMEOUT (the task is still running; join again
/// later), RT_ERR_CANCELLED (aborted), RT_ERR_SHUTDOWN (the runtime shut
/// down before it finished), RT_ERR_PANIC; RT_ERR_NULL;
/// RT_ERR_WOULD_DEADLOCK when called from inside a task or callback on a
/// runtime thread (use rt_task_poll or rt_task_on_complete there);
/// RT_ERR_INVALID (already joined, or an rt_spawn_future task's `poll`
/// returned a value other than RT_PENDING / RT_READY).
///
/// # Safety
/// `t` NULL or live; `result` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_task_join(
    t: *mut rt_task,
    timeout_ms: u64,
    result: *mut *mut c_void,
) -> rt_status {
    if !result.is_null() {
        // The header promises `*result` is NULL unless RT_OK, whatever the
        // failure (timeout, already joined, NULL task, would deadlock);
        // take_outcome overwrites it on success.
        // SAFETY: non-NULL and writable per the contract.
        unsafe { result.write(std::ptr::null_mut()) };
    }
    error::status("rt_task_join", || {
        // SAFETY: NULL or live per the contract.
        let t = unsafe { slot_of(t) }?;
        check_may_block("rt_task_join")?;
        let until = deadline(timeout_ms);
        let mut s = t.lock();
        loop {
            if s.outcome.is_some() {
                return take_outcome(&mut s, result);
            }
            s = wait_counted(&t.cond, s, until, |s| &mut s.blocked).ok_or_else(|| {
                Error::new(
                    rt_status::RT_ERR_TIMEOUT,
                    format!("the task did not finish within {timeout_ms} ms"),
                )
            })?;
        }
    })
}

/// Polls the task as a leaf future: returns RT_READY (filling `*status`
/// as rt_task_join would return and `*result`, NULL unless RT_OK) once it
/// finished, or RT_PENDING (`*result` NULL) after arranging for `w` to be
/// woken when it finishes.
/// `status`/`result` may be NULL. Usable from inside C futures and foreign
/// loops; never blocks. Every distinct waker polled with is kept (and
/// woken) until the task finishes, so that any number of pollers may
/// wait: a loop should poll with one waker (or clones of it), not a new
/// rt_waker_new per poll.
///
/// On NULL `t`/`w` it returns RT_READY with `*status = RT_ERR_NULL` (so a
/// poll loop never hangs). After RT_READY the outcome is consumed: later
/// polls and joins report RT_ERR_INVALID.
///
/// # Safety
/// `t` NULL or live; `w` NULL or a live waker; outs NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_task_poll(
    t: *mut rt_task,
    w: *const rt_waker,
    status: *mut rt_status,
    result: *mut *mut c_void,
) -> rt_poll {
    if !result.is_null() {
        // As rt_task_join: `*result` is NULL unless the task's outcome is
        // handed out here with RT_OK (take_outcome overwrites it).
        // SAFETY: non-NULL and writable per the contract.
        unsafe { result.write(std::ptr::null_mut()) };
    }
    let mut pending = false;
    let st = error::status("rt_task_poll", || {
        // SAFETY: NULL or live per the contract.
        let t = unsafe { slot_of(t) }?;
        // SAFETY: NULL or live per the contract.
        let w = unsafe { rt_waker::borrow(w) }?;
        let mut s = t.lock();
        if s.outcome.is_some() {
            return take_outcome(&mut s, result);
        }
        if !s.wakers.iter().any(|x| x.will_wake(w)) {
            s.wakers.push(w.clone());
        }
        pending = true;
        Ok(())
    });
    if pending {
        return rt_poll::RT_PENDING;
    }
    if !status.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { status.write(st) };
    }
    rt_poll::RT_READY
}

/// Registers `cb(arg, st, result)` to run exactly once when the task
/// finishes: on the runtime thread that completed it (or on the thread
/// shutting the runtime down), or immediately on the calling thread if the
/// task had already finished. `st` is RT_OK, RT_ERR_CANCELLED,
/// RT_ERR_SHUTDOWN or RT_ERR_PANIC. One callback per task. The callback
/// sees the result even if the task is also joined.
///
/// Errors: RT_ERR_NULL (`t`, `cb`); RT_ERR_INVALID (a callback is already
/// registered).
///
/// # Safety
/// `t` NULL or live; `cb` callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn rt_task_on_complete(
    t: *mut rt_task,
    cb: rt_complete_fn,
    arg: *mut c_void,
) -> rt_status {
    error::status("rt_task_on_complete", || {
        // SAFETY: NULL or live per the contract.
        let t = unsafe { slot_of(t) }?;
        let cb = cb.ok_or_else(|| Error::null("cb"))?;
        let mut s = t.lock();
        if s.cb_registered {
            return Err(Error::invalid(
                "a completion callback is already registered",
            ));
        }
        s.cb_registered = true;
        match s.outcome {
            Some((st, r)) => {
                drop(s);
                // SAFETY: the contract: `cb` runs once, on any thread.
                unsafe { cb(arg, st, r.0) };
            }
            None => s.on_complete = Some((cb, SendPtr(arg))),
        }
        Ok(())
    })
}

/// Aborts the task: if it has not finished, it will not run again (a task
/// running right now finishes its current call first), its `drop_arg` /
/// `drop_state` is called, and joiners get RT_ERR_CANCELLED. Aborting a
/// finished task does nothing. Returns immediately.
///
/// Errors: RT_ERR_NULL, RT_ERR_SHUTDOWN.
///
/// # Safety
/// `t` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_task_abort(t: *mut rt_task) -> rt_status {
    error::status("rt_task_abort", || {
        // SAFETY: NULL or live per the contract.
        let t = unsafe { slot_of(t) }?;
        t.rt.check_open()?;
        match t.abort.get() {
            Some(h) => h.abort(),
            None => t.lock().aborted = true,
        }
        Ok(())
    })
}

/// Whether the task has finished (completed, aborted or shut down).
/// NULL gives false.
///
/// # Safety
/// `t` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_task_is_finished(t: *const rt_task) -> bool {
    error::value("rt_task_is_finished", false, || {
        // SAFETY: NULL or live per the contract.
        let t = unsafe { slot_of(t) }?;
        let done = t.lock().outcome.is_some();
        Ok(done)
    })
}

/// Frees the handle and detaches the task: it keeps running, and its
/// result is discarded (not freed). NULL is ignored.
///
/// # Safety
/// `t` NULL or live; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_task_free(t: *mut rt_task) {
    if t.is_null() {
        return;
    }
    // SAFETY: the caller's reference, from Arc::into_raw of a `TaskShared`
    // in `publish` (see `rt_task`), given back once per the contract.
    let t = unsafe { Arc::from_raw(t.cast_const().cast::<TaskShared>()) };
    error::quiet("rt_task_free", move || drop(t));
}
