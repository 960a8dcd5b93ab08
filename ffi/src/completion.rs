//! `rt_completion`: a cross-language one-shot. Any thread (a foreign
//! library's callback, a C thread, a task) completes it with a value; any
//! number of waiters in any language observe it, by blocking
//! (`rt_completion_wait`) or by polling with a waker.
//!
//! # Design
//! An `Arc<Inner>`: the C pointer *is* the `Arc` (`Arc::into_raw`), so
//! `rt_completion_clone`/`rt_completion_free` are reference-count
//! operations. `Inner` holds the value slot and the pollers' wakers under
//! one mutex, plus a condvar for blocking waiters. The first complete wins;
//! wakers are woken outside the lock. `rt_completion_complete` holds a
//! reference of its own while it runs, so a waiter may free the completion
//! as soon as it has seen the value. A completion belongs to no runtime,
//! so it never reports `RT_ERR_SHUTDOWN`.
use crate::callback::{check_may_block, deadline, wait_counted, SendPtr};
use crate::error::{self, non_null, rt_status, Error};
use crate::task::rt_poll;
use crate::waker::rt_waker;
use std::ffi::c_void;
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;

/// An opaque, reference-counted one-shot value.
#[allow(non_camel_case_types)]
pub struct rt_completion {
    state: Mutex<State>,
    cond: Condvar,
}

#[derive(Default)]
struct State {
    value: Option<SendPtr>,
    /// Threads blocked in `rt_completion_wait`: `cond` is signalled only
    /// when there is one.
    blocked: usize,
    wakers: Vec<Waker>,
}

impl rt_completion {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a completion; `*out` holds one reference (rt_completion_free).
///
/// Errors: RT_ERR_NULL (`out`).
///
/// # Safety
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_completion_new(out: *mut *mut rt_completion) -> rt_status {
    error::status("rt_completion_new", || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        let c = Arc::new(rt_completion {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
        });
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(Arc::into_raw(c).cast_mut()) };
        Ok(())
    })
}

/// Returns a new reference to the same completion (NULL for NULL); each
/// reference is released by its own rt_completion_free. Any thread.
///
/// # Safety
/// `c` NULL or a live reference.
#[no_mangle]
pub unsafe extern "C" fn rt_completion_clone(c: *const rt_completion) -> *mut rt_completion {
    error::value("rt_completion_clone", std::ptr::null_mut(), || {
        if c.is_null() {
            return Err(Error::null("c"));
        }
        // SAFETY: `c` came from Arc::into_raw and is live per the contract.
        unsafe { Arc::increment_strong_count(c) };
        Ok(c.cast_mut())
    })
}

/// Completes with `value` (any pointer, NULL included; the runtime never
/// dereferences or frees it: it belongs to whoever the program says).
/// Any thread. Blocked waiters return and pollers' wakers are woken.
///
/// Errors: RT_ERR_NULL (`c`); RT_ERR_INVALID if already completed (the
/// first value stays).
///
/// # Safety
/// `c` NULL or a live reference.
#[no_mangle]
pub unsafe extern "C" fn rt_completion_complete(
    c: *mut rt_completion,
    value: *mut c_void,
) -> rt_status {
    error::status("rt_completion_complete", || {
        // SAFETY: NULL or live per the contract.
        unsafe { non_null(c, "c") }?;
        // Our own reference for the rest of the call: a waiter returns as
        // soon as it sees the value (before `notify_all` below) and may
        // then free its reference, which may be the one the caller passed
        // us (a use-after-free that ThreadSanitizer reported in
        // `examples-c/serial_queue.c` and `tests/c/test_queue.c`).
        // SAFETY: `c` came from Arc::into_raw and is live per the contract;
        // no waiter can release it before the value is set below, and the
        // increment gives `from_raw` a count of its own to own.
        let c = unsafe {
            Arc::increment_strong_count(c);
            Arc::from_raw(c.cast_const())
        };
        let (wakers, blocked) = {
            let mut s = c.lock();
            if s.value.is_some() {
                return Err(Error::invalid("the completion was already completed"));
            }
            s.value = Some(SendPtr(value));
            (std::mem::take(&mut s.wakers), s.blocked)
        };
        if blocked > 0 {
            c.cond.notify_all();
        }
        for w in wakers {
            w.wake();
        }
        Ok(())
    })
}

/// Blocks until completed or `timeout_ms` elapses (0 = just check,
/// RT_FOREVER = no limit); stores the value in `*value` (may be NULL).
/// Any number of threads may wait; each sees the same value.
///
/// Errors: RT_ERR_NULL (`c`), RT_ERR_TIMEOUT, RT_ERR_WOULD_DEADLOCK (from
/// inside a task or callback on a runtime thread: use rt_completion_poll).
///
/// # Safety
/// `c` NULL or live; `value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_completion_wait(
    c: *mut rt_completion,
    timeout_ms: u64,
    value: *mut *mut c_void,
) -> rt_status {
    error::status("rt_completion_wait", || {
        // SAFETY: NULL or live per the contract.
        let c = unsafe { non_null(c, "c") }?;
        check_may_block("rt_completion_wait")?;
        let until = deadline(timeout_ms);
        let mut s = c.lock();
        loop {
            if let Some(v) = s.value {
                if !value.is_null() {
                    // SAFETY: non-NULL and writable per the contract.
                    unsafe { value.write(v.0) };
                }
                return Ok(());
            }
            s = wait_counted(&c.cond, s, until, |s| &mut s.blocked).ok_or_else(|| {
                Error::new(
                    rt_status::RT_ERR_TIMEOUT,
                    format!("not completed within {timeout_ms} ms"),
                )
            })?;
        }
    })
}

/// Polls as a leaf future: RT_READY with `*value` set once completed,
/// else RT_PENDING after arranging for `w` to be woken on completion.
/// Never blocks; usable from C futures and foreign loops. Every distinct
/// waker polled with is kept (and woken) until completion, so that any
/// number of pollers may wait: a loop should poll with one waker (or
/// clones of it), not a new rt_waker_new per poll.
///
/// On NULL `c` or `w` it returns RT_READY with `*value` = NULL and
/// RT_ERR_NULL in rt_last_error() (so a poll loop never hangs).
///
/// # Safety
/// `c` NULL or live; `w` NULL or a live waker; `value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_completion_poll(
    c: *mut rt_completion,
    w: *const rt_waker,
    value: *mut *mut c_void,
) -> rt_poll {
    let mut out = (rt_poll::RT_READY, std::ptr::null_mut());
    let _ = error::status("rt_completion_poll", || {
        // SAFETY: NULL or live per the contract.
        let c = unsafe { non_null(c, "c") }?;
        // SAFETY: NULL or live per the contract.
        let w = unsafe { rt_waker::borrow(w) }?;
        let mut s = c.lock();
        match s.value {
            Some(v) => out.1 = v.0,
            None => {
                if !s.wakers.iter().any(|x| x.will_wake(w)) {
                    s.wakers.push(w.clone());
                }
                out.0 = rt_poll::RT_PENDING;
            }
        }
        Ok(())
    });
    if out.0 == rt_poll::RT_READY && !value.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { value.write(out.1) };
    }
    out.0
}

/// Releases one reference; the completion is freed with the last one.
/// NULL is ignored. The value is never freed by the runtime.
///
/// # Safety
/// `c` NULL or a live reference; that reference is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_completion_free(c: *mut rt_completion) {
    if c.is_null() {
        return;
    }
    // SAFETY: `c` is a reference from Arc::into_raw whose count we release.
    let c = unsafe { Arc::from_raw(c.cast_const()) };
    error::quiet("rt_completion_free", move || drop(c));
}
