//! `rt_waker`: a Rust `Waker` behind an opaque pointer, and wakers whose
//! wake is a C callback (`rt_waker_new`).
//!
//! # Ownership
//! An owned `rt_waker *` is a `Box<rt_waker>`: returned by
//! `rt_waker_clone`/`rt_waker_new`, released by `rt_waker_wake` or
//! `rt_waker_free`. The waker passed to a poll function is *borrowed* for
//! that call only: clone it to keep it.
use crate::callback::{on_runtime_thread, rt_drop_fn, Arg};
use crate::error;
use std::ffi::c_void;
use std::sync::Arc;
use std::task::{Wake, Waker};

/// An opaque waker: waking it schedules whatever is waiting on it.
#[allow(non_camel_case_types)]
pub struct rt_waker {
    pub(crate) waker: Waker,
}

impl rt_waker {
    /// Borrows `*w` as a `Waker`.
    ///
    /// # Safety
    /// `w` must be NULL or a live rt_waker for 'a.
    pub(crate) unsafe fn borrow<'a>(w: *const rt_waker) -> error::Result<&'a Waker> {
        // SAFETY: forwarded contract.
        unsafe { error::non_null(w, "waker") }.map(|w| &w.waker)
    }
}

/// A C wake callback.
#[allow(non_camel_case_types)]
pub type rt_wake_fn = Option<unsafe extern "C" fn(data: *mut c_void)>;

struct CWaker {
    data: Arg,
    wake: unsafe extern "C" fn(data: *mut c_void),
}

impl Wake for CWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // SAFETY: the rt_waker_new contract: `wake(data)` may be called from
        // any thread, any number of times, until `drop_data` runs.
        on_runtime_thread(|| unsafe { (self.wake)(self.data.get()) });
    }
}

/// Returns a new owned handle to the same waker (NULL if `w` is NULL).
/// Free the result with rt_waker_free or consume it with rt_waker_wake.
/// Any thread.
///
/// # Safety
/// `w` must be NULL or a live (owned or borrowed) waker.
#[no_mangle]
pub unsafe extern "C" fn rt_waker_clone(w: *const rt_waker) -> *mut rt_waker {
    error::value("rt_waker_clone", std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let w = unsafe { rt_waker::borrow(w) }?;
        Ok(Box::into_raw(Box::new(rt_waker { waker: w.clone() })))
    })
}

/// Wakes the task (or C callback) behind `w` and frees `w`. NULL is
/// ignored. Any thread; never runs the woken task inline (a C waker from
/// rt_waker_new runs its `wake` callback on this thread).
///
/// # Safety
/// `w` must be NULL or an owned waker; it is invalid afterwards. Never pass
/// the borrowed waker given to a poll function.
#[no_mangle]
pub unsafe extern "C" fn rt_waker_wake(w: *mut rt_waker) {
    if w.is_null() {
        return;
    }
    // SAFETY: owned waker from Box::into_raw per the contract.
    let w = unsafe { Box::from_raw(w) };
    error::quiet("rt_waker_wake", move || w.waker.wake());
}

/// Wakes the task behind `w` without consuming it. NULL is ignored.
///
/// # Safety
/// `w` must be NULL or a live (owned or borrowed) waker.
#[no_mangle]
pub unsafe extern "C" fn rt_waker_wake_by_ref(w: *const rt_waker) {
    error::quiet("rt_waker_wake_by_ref", || {
        // SAFETY: forwarded contract.
        if let Ok(w) = unsafe { rt_waker::borrow(w) } {
            w.wake_by_ref();
        }
    });
}

/// Frees an owned waker without waking it. NULL is ignored.
///
/// # Safety
/// `w` must be NULL or an owned waker; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_waker_free(w: *mut rt_waker) {
    if w.is_null() {
        return;
    }
    // SAFETY: owned waker from Box::into_raw per the contract.
    let w = unsafe { Box::from_raw(w) };
    error::quiet("rt_waker_free", move || drop(w));
}

/// Creates a waker whose wake calls `wake(data)`: lets a foreign loop (a C
/// main loop, Python's asyncio) poll the leaf futures of this library
/// (rt_task_poll, rt_completion_poll, rt_sleep_poll, rt_fd_poll_ready).
///
/// `wake` may be called on any thread (a runtime worker, a timer thread,
/// the thread completing a completion), possibly concurrently and more
/// than once per poll; it must be thread-safe and must not block.
/// `drop_data` (may be NULL) runs exactly once, when the last clone of the
/// waker is gone. The caller owns the result (rt_waker_free /
/// rt_waker_wake). Returns NULL if `wake` is NULL (RT_ERR_NULL in
/// rt_last_error); `drop_data` is then not called.
///
/// # Safety
/// `wake` and `drop_data` must be callable from any thread with `data`.
#[no_mangle]
pub unsafe extern "C" fn rt_waker_new(
    data: *mut c_void,
    wake: rt_wake_fn,
    drop_data: rt_drop_fn,
) -> *mut rt_waker {
    error::value("rt_waker_new", std::ptr::null_mut(), || {
        let wake = wake.ok_or_else(|| error::Error::null("wake"))?;
        let cw = Arc::new(CWaker {
            data: Arg::new(data, drop_data),
            wake,
        });
        Ok(Box::into_raw(Box::new(rt_waker {
            waker: Waker::from(cw),
        })))
    })
}
