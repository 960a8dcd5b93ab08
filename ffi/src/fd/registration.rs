//! `rt_fd`: an fd registered with the reactor and polled as a leaf future
//! (`rt_fd_poll_ready` with a waker), for C futures and foreign event
//! loops; the callback watches are in the parent module.
//!
//! Readiness is edge-triggered, as the reactor reports it: it stays set
//! until the caller clears it (`rt_fd_clear_ready`) after an `EAGAIN`.
//! A clear forgets only what the last poll reported per direction (its
//! `ReportedReady` tick), never an event that arrived after that report,
//! so a clear racing a new event cannot lose the wakeup.
use super::{check_interest, register, Registered, RT_ERROR, RT_HANGUP, RT_READABLE, RT_WRITABLE};
use crate::error::{self, non_null, rt_status, Error};
use crate::runtime::{rt_runtime, Shared};
use crate::task::rt_poll;
use crate::waker::rt_waker;
use runtime_core::io::{Ready, ReportedReady};
use std::ffi::c_int;
use std::sync::Arc;
use std::task::{Context, Poll};

/// An opaque fd registration for polling, owned by the caller until
/// rt_fd_free.
#[allow(non_camel_case_types)]
pub struct rt_fd {
    afd: Registered,
    fd: c_int,
    claim: u64,
    rt: Arc<Shared>,
    /// What rt_fd_poll_ready last reported ready per direction (read,
    /// write), for rt_fd_clear_ready: clearing that, rather than whatever
    /// is current, keeps an event that came after the report.
    reported: runtime_core::locks::Mutex<[Option<ReportedReady>; 2]>,
}

/// Registers `fd` with the runtime's reactor so C futures and foreign
/// loops can wait for it with rt_fd_poll_ready. The runtime never closes
/// the fd; the caller owns `*out` (rt_fd_free).
///
/// Errors: RT_ERR_NULL (`rt`, `out`); RT_ERR_INVALID (negative, closed or
/// unpollable fd, or already watched/registered on this runtime);
/// RT_ERR_IO; RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_fd_register(
    rt: *mut rt_runtime,
    fd: c_int,
    out: *mut *mut rt_fd,
) -> rt_status {
    error::status("rt_fd_register", || {
        // SAFETY: NULL or live per the contract.
        let rt = unsafe { non_null(rt, "rt") }?;
        if out.is_null() {
            return Err(Error::null("out"));
        }
        rt.shared.check_open()?;
        let claim = rt.shared.claim_fd(fd)?;
        let afd = match register(&rt.shared, fd, None) {
            Ok(a) => a,
            Err(e) => {
                rt.shared.release_fd(fd, claim);
                return Err(e);
            }
        };
        let b = Box::into_raw(Box::new(rt_fd {
            afd,
            fd,
            claim,
            rt: rt.shared.clone(),
            reported: runtime_core::locks::Mutex::new([None; 2]),
        }));
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(b) };
        Ok(())
    })
}

fn ready_bits(r: Ready) -> u32 {
    let mut b = 0;
    if r.is_readable() {
        b |= RT_READABLE;
    }
    if r.is_writable() {
        b |= RT_WRITABLE;
    }
    if r.is_read_closed() || r.is_write_closed() {
        b |= RT_HANGUP;
    }
    if r.is_error() {
        b |= RT_ERROR;
    }
    b
}

/// Polls for readiness (edge-triggered, as the reactor reports it):
/// RT_READY with the ready bits in `*ready` (may be NULL) if any of
/// `interest` is ready, else RT_PENDING after arranging for `w` to be
/// woken when it may be. Once your read/write returns EAGAIN, call
/// rt_fd_clear_ready with the bits you drained, or the next poll returns
/// RT_READY at once. Only the last waker given per direction is woken.
///
/// On bad arguments (NULL, unknown or empty interest) or after shutdown it
/// returns RT_READY with `*ready` = RT_ERROR and the reason in
/// rt_last_error().
///
/// # Safety
/// `f` NULL or live; `w` NULL or a live waker; `ready` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_fd_poll_ready(
    f: *mut rt_fd,
    interest: u32,
    w: *const rt_waker,
    ready: *mut u32,
) -> rt_poll {
    let mut bits = RT_ERROR;
    let p = error::value("rt_fd_poll_ready", rt_poll::RT_READY, || {
        // SAFETY: NULL or live per the contract.
        let f = unsafe { non_null(f, "f") }?;
        // SAFETY: NULL or live per the contract.
        let w = unsafe { rt_waker::borrow(w) }?;
        check_interest(interest)?;
        f.rt.check_open()?;
        let mut cx = Context::from_waker(w);
        let mut got = 0;
        if interest & RT_READABLE != 0 {
            match f.afd.poll_read_ready(&mut cx) {
                Poll::Ready(Ok(g)) => {
                    got |= ready_bits(g.ready());
                    f.reported.lock()[0] = Some(g.reported());
                }
                Poll::Ready(Err(e)) => return Err(Error::io("poll_read_ready", e)),
                Poll::Pending => {}
            }
        }
        if interest & RT_WRITABLE != 0 {
            match f.afd.poll_write_ready(&mut cx) {
                Poll::Ready(Ok(g)) => {
                    got |= ready_bits(g.ready());
                    f.reported.lock()[1] = Some(g.reported());
                }
                Poll::Ready(Err(e)) => return Err(Error::io("poll_write_ready", e)),
                Poll::Pending => {}
            }
        }
        bits = got;
        Ok(if got == 0 {
            rt_poll::RT_PENDING
        } else {
            rt_poll::RT_READY
        })
    });
    if p == rt_poll::RT_READY && !ready.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { ready.write(bits) };
    }
    p
}

/// Forgets the readiness in `ready` (RT_READABLE / RT_WRITABLE bits) that
/// rt_fd_poll_ready last reported, after your read/write returned EAGAIN;
/// an event that arrived after that report is kept (the next poll returns
/// RT_READY). A direction not reported ready since the last clear is left
/// alone, and the waker of the last RT_PENDING poll stays registered. NULL
/// or unknown bits are ignored.
///
/// # Safety
/// `f` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_fd_clear_ready(f: *mut rt_fd, ready: u32) {
    error::quiet("rt_fd_clear_ready", || {
        // SAFETY: NULL or live per the contract.
        let Some(f) = (unsafe { f.as_ref() }) else {
            return;
        };
        // What rt_fd_poll_ready reported, not what is ready now: an event
        // that came after the report survives the clear. Nothing is polled,
        // so the waker the last poll left stays registered.
        let (read, write) = {
            let mut reported = f.reported.lock();
            let read = (ready & RT_READABLE != 0).then(|| reported[0].take());
            let write = (ready & RT_WRITABLE != 0).then(|| reported[1].take());
            (read.flatten(), write.flatten())
        };
        if let Some(r) = read {
            f.afd.clear_reported(r, Ready::READABLE);
        }
        if let Some(r) = write {
            f.afd.clear_reported(r, Ready::WRITABLE);
        }
    });
}

/// Deregisters and frees; never closes the caller's fd. NULL is ignored.
///
/// # Safety
/// `f` NULL or live; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_fd_free(f: *mut rt_fd) {
    if f.is_null() {
        return;
    }
    // SAFETY: owned pointer from Box::into_raw per the contract.
    let f = unsafe { Box::from_raw(f) };
    error::quiet("rt_fd_free", move || {
        let (rt, fd, claim) = (f.rt.clone(), f.fd, f.claim);
        drop(f);
        rt.release_fd(fd, claim);
    });
}
