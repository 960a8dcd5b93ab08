//! File descriptors: level-triggered callback watches (`rt_watch`, here)
//! and registrations polled as leaf futures (`rt_fd`, in
//! `fd/registration.rs`), and the registration both are built on.
//!
//! # Design
//! Watches are level-triggered, as libcurl's `multi_socket` and c-ares
//! expect. A watch is a task that waits for the reactor to report
//! readiness, runs the callback with the ready bits, and repeats, so the
//! callback keeps coming while the fd stays ready. The callback runs
//! through a [`Slot`] (one call at a time; synchronous stop), inline or on
//! the watch's serial queue. Two registrations serve this:
//! - **Level-triggered** (Linux, current-thread runtime, callback inline):
//!   the fd is registered for the watch's interest only, without
//!   `EPOLLET`. The task clears the readiness before each callback; if the
//!   fd is still ready afterwards, the next reactor turn reports it again.
//!   A callback costs no syscall of ours, as in libuv's loop (a reported
//!   hangup or error is checked with `poll(2)`, and since it stays
//!   reported, the task then yields between calls). Only the
//!   thread that runs the callbacks turns that reactor, so a ready fd can
//!   never keep a poll spinning while its callback waits elsewhere; an
//!   interest change that changes the directions redoes the registration.
//!   The task is the hand-written future in `fd_level.rs`; in the common
//!   case (no interest change, hangup or error pending) the callback does
//!   not even go through it: the registration's event hook runs it from
//!   the reactor's dispatch, as libuv's loop calls a `uv_poll` callback.
//! - **Edge-triggered** (everywhere else): the reactor reports changes,
//!   so before each callback the task asks the kernel (`poll(2)` with a
//!   zero timeout) what is ready *now*: if nothing of interest is, it
//!   clears the stale readiness and waits again; otherwise it runs the
//!   callback and yields before looking again (`edge_watch`).
//!
//! Each watch or registration owns a `dup` of the caller's fd, made and
//! kept by its `AsyncFd` (`AsyncFd::registered_fd`) and registered with the
//! reactor: deregistration can then never hit an unrelated fd that reused
//! the caller's number after it was closed. The caller's fd
//! number is claimed per runtime (`Shared::claim_fd`) so an fd watched
//! twice is an error, and released synchronously by stop/free.
//!
//! # Ownership
//! `rt_watch *` and `rt_fd *` are `Box`es owned by the caller. Neither
//! ever closes the caller's fd.
use crate::callback::{rt_drop_fn, Arg};
use crate::error::{self, non_null, rt_status, Error, Result};
use crate::fd_level::LevelWatch;
use crate::queue::{clone_queue, rt_queue, Target};
use crate::runtime::{rt_runtime, shared_of, Shared};
use crate::slot::{Slot, Wait};
use runtime_core::io::{AsyncFd, Interest, Ready};
use runtime_core::task::AbortHandle;
use std::ffi::{c_int, c_void};
use std::future::Future;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

mod registration;
pub use registration::{rt_fd, rt_fd_clear_ready, rt_fd_free, rt_fd_poll_ready, rt_fd_register};

/// The fd can be read (or a listening socket has a connection to accept).
pub const RT_READABLE: u32 = 1;
/// The fd can be written.
pub const RT_WRITABLE: u32 = 2;
/// The peer hung up (reported whatever the interest).
pub const RT_HANGUP: u32 = 4;
/// An error is pending on the fd (reported whatever the interest).
pub const RT_ERROR: u32 = 8;

/// The interest bits that name directions (what a registration waits for).
pub(crate) const DIRECTIONS: u32 = RT_READABLE | RT_WRITABLE;

/// An fd watch callback: `ready` holds the RT_READABLE / RT_WRITABLE /
/// RT_HANGUP / RT_ERROR bits that are ready now.
#[allow(non_camel_case_types)]
pub type rt_watch_fn = Option<unsafe extern "C" fn(arg: *mut c_void, fd: c_int, ready: u32)>;

/// An opaque fd watch, owned by the caller until rt_watch_free.
#[allow(non_camel_case_types)]
pub struct rt_watch {
    ctl: Arc<Ctl>,
    abort: AbortHandle,
    rt: Arc<Shared>,
}

/// The caller's fd number, carried by a registration for reference only:
/// the reactor watches the registration's own duplicate
/// (`AsyncFd::registered_fd`), which is also what the tasks `poll(2)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallerFd(pub(crate) c_int);

impl AsRawFd for CallerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A registration of a duplicate of the caller's fd.
pub(crate) type Registered = AsyncFd<CallerFd>;

/// What a watch's task and its handle share.
pub(crate) struct Ctl {
    pub(crate) slot: Slot,
    pub(crate) fd: c_int,
    claim: u64,
    rt: Arc<Shared>,
    /// The RT_* interest bits the task waits for.
    pub(crate) interest: AtomicU32,
    /// Set by `set_interest`, consumed by the task (`poll_changed`).
    changed: AtomicBool,
    /// The task's waker, registered by its first poll (a task's waker
    /// always wakes that task, so one registration serves every poll).
    waker: OnceLock<Waker>,
}

impl Ctl {
    /// Publishes a new interest and wakes the task to wait for it.
    ///
    /// With `poll_changed` this is a store-then-load handshake on each
    /// side (`changed` then `waker` here, `waker` then `changed` there),
    /// ordered by SeqCst fences: either the task sees `changed`, or this
    /// sees its waker and wakes it.
    fn set_interest(&self, interest: u32) {
        self.interest.store(interest, Ordering::SeqCst);
        self.changed.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if let Some(w) = self.waker.get() {
            w.wake_by_ref();
        }
    }
    /// The runtime the watch belongs to.
    pub(crate) fn rt(&self) -> &Shared {
        &self.rt
    }

    /// Whether an interest change waits for the task (not consumed).
    pub(crate) fn change_pending(&self) -> bool {
        self.changed.load(Ordering::SeqCst)
    }

    /// Whether the interest changed (consuming the flag); registers the
    /// task's waker on first use.
    pub(crate) fn poll_changed(&self, cx: &mut Context<'_>) -> bool {
        if self.waker.get().is_none() {
            let _ = self.waker.set(cx.waker().clone());
            fence(Ordering::SeqCst);
        }
        self.changed.load(Ordering::Relaxed) && self.changed.swap(false, Ordering::SeqCst)
    }
    /// Stops the callback (synchronously unless `wait` is [`Wait::No`])
    /// and releases the fd claim.
    fn stop(&self, wait: Wait) {
        self.slot.stop_with(wait);
        self.rt.release_fd(self.fd, self.claim);
    }
}

pub(crate) struct StopOnDrop(pub(crate) Arc<Ctl>);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // The task's own stop: nobody waits for it, so it never blocks the
        // worker on a call or release running elsewhere.
        self.0.stop(Wait::No);
    }
}

fn check_interest(interest: u32) -> Result<()> {
    if interest & !(RT_READABLE | RT_WRITABLE | RT_HANGUP | RT_ERROR) != 0 {
        return Err(Error::invalid(format!(
            "unknown interest bits {interest:#x}"
        )));
    }
    if interest & DIRECTIONS == 0 {
        return Err(Error::invalid(
            "interest must include RT_READABLE and/or RT_WRITABLE",
        ));
    }
    Ok(())
}

pub(crate) fn to_interest(interest: u32) -> Interest {
    match (interest & RT_READABLE != 0, interest & RT_WRITABLE != 0) {
        (true, true) => Interest::READABLE.add(Interest::WRITABLE),
        (false, true) => Interest::WRITABLE,
        _ => Interest::READABLE,
    }
}

/// What the kernel says is ready on `fd` now, as RT_* bits (limited to
/// `interest` plus RT_HANGUP / RT_ERROR).
fn level(fd: c_int, interest: u32) -> u32 {
    let mut events: libc::c_short = 0;
    if interest & RT_READABLE != 0 {
        events |= libc::POLLIN;
    }
    if interest & RT_WRITABLE != 0 {
        events |= libc::POLLOUT;
    }
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n <= 0 {
        return 0;
    }
    let mut r = 0;
    if p.revents & libc::POLLIN != 0 {
        r |= RT_READABLE;
    }
    if p.revents & libc::POLLOUT != 0 {
        r |= RT_WRITABLE;
    }
    if p.revents & libc::POLLHUP != 0 {
        r |= RT_HANGUP;
    }
    if p.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        r |= RT_ERROR;
    }
    r
}

/// Whether `r` holds a hangup or error: bits that stay reported once set
/// (they cannot be cleared).
pub(crate) fn sticky(r: Ready) -> bool {
    r.is_read_closed() || r.is_write_closed() || r.is_error()
}

/// The RT_* bits of a level-triggered report `r` for `interest`: the
/// directions epoll reported on this reactor turn; a hangup or error goes
/// through [`level`] for its exact RT_HANGUP / RT_ERROR bits.
pub(crate) fn reported(r: Ready, fd: c_int, interest: u32) -> u32 {
    if sticky(r) {
        return level(fd, interest);
    }
    let mut bits = 0;
    if r.is_readable() && interest & RT_READABLE != 0 {
        bits |= RT_READABLE;
    }
    if r.is_writable() && interest & RT_WRITABLE != 0 {
        bits |= RT_WRITABLE;
    }
    bits
}

/// Registers a duplicate of `fd` (close-on-exec, made and owned by the
/// `AsyncFd`): edge-triggered for both directions, or level-triggered for
/// `level`'s RT_* interest only.
fn register(shared: &Shared, fd: c_int, level: Option<u32>) -> Result<Registered> {
    if fd < 0 {
        return Err(Error::invalid(format!("fd {fd} is negative")));
    }
    let _enter = shared.handle.enter();
    match level {
        Some(interest) => AsyncFd::level_triggered(CallerFd(fd), to_interest(interest)),
        None => AsyncFd::new(CallerFd(fd)),
    }
    .map_err(|e| match e.raw_os_error() {
        // Only the duplication can see a bad fd: the poll is given the
        // fresh duplicate.
        Some(libc::EBADF) => Error::invalid(format!("fd {fd} is not an open file descriptor")),
        Some(libc::EPERM) => Error::invalid(format!(
            "fd {fd} cannot be watched (a regular file or directory?): {e}"
        )),
        _ => Error::io("registering the fd with the reactor", e),
    })
}

/// Runs the watch's callback with `ready` on `target`; false if the
/// target refused it (shutdown).
async fn run_callback(ctl: &Arc<Ctl>, target: &Target, cb: WatchFn, ready: u32) -> bool {
    target
        .run_on(ctl, move |c| {
            // SAFETY: the rt_fd_watch contract: `cb(arg, fd, ready)` may run
            // on any runtime thread until stopped.
            let _ = c.slot.invoke(|a| unsafe { cb(a, c.fd, ready) });
        })
        .await
}

/// A watch callback (non-NULL).
pub(crate) type WatchFn = unsafe extern "C" fn(arg: *mut c_void, fd: c_int, ready: u32);

/// The task of an edge-triggered watch: before each callback it asks the
/// kernel what is ready now (the reactor reports changes only), and it
/// yields after each callback, so one pass runs per turn of the loop.
async fn edge_watch(
    ctl: Arc<Ctl>,
    afd: Registered,
    target: Target,
    cb: WatchFn,
    _stop: StopOnDrop,
) {
    let raw = afd.registered_fd().as_raw_fd();
    loop {
        if ctl.slot.is_stopped() {
            return;
        }
        let int = ctl.interest.load(Ordering::SeqCst);
        let res = {
            // One direction waits in that direction's single waker slot
            // (cheaper); both wait in the registration's list.
            let mut both = pin!(afd.ready(to_interest(int)));
            std::future::poll_fn(|cx| {
                if ctl.poll_changed(cx) {
                    return Poll::Ready(None);
                }
                match int & DIRECTIONS {
                    RT_READABLE => afd.poll_read_ready(cx).map(Some),
                    RT_WRITABLE => afd.poll_write_ready(cx).map(Some),
                    _ => both.as_mut().poll(cx).map(Some),
                }
            })
            .await
        };
        let (ready, broken) = match res {
            // Interest changed: wait for the new one.
            None => continue,
            // The registration itself failed (reactor gone): report it once
            // and end the watch.
            Some(Err(_)) => (RT_ERROR, true),
            Some(Ok(mut guard)) => {
                let now = level(raw, int);
                if now == 0 {
                    guard.clear_ready();
                    continue;
                }
                // The readiness stays set, so the next pass checks the
                // level again after other tasks had a turn.
                (now, false)
            }
        };
        if !run_callback(&ctl, &target, cb, ready).await || broken {
            return;
        }
        runtime_core::task::yield_now().await;
    }
}

#[allow(clippy::too_many_arguments)]
fn watch(
    shared: &Arc<Shared>,
    target: Target,
    fd: c_int,
    interest: u32,
    cb: rt_watch_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_watch,
) -> Result<()> {
    let cb = cb.ok_or_else(|| Error::null("cb"))?;
    check_interest(interest)?;
    shared.check_open()?;
    let claim = shared.claim_fd(fd)?;
    // Level-triggered where only the thread that runs the callback turns
    // the reactor (a current-thread runtime, callback inline): a still-ready
    // fd is reported again by the next turn, so a callback costs no
    // `poll(2)`, as in libuv's loop, and a ready fd cannot keep a poll
    // spinning while its callback is pending elsewhere.
    let lt =
        cfg!(target_os = "linux") && shared.is_current_thread() && matches!(target, Target::Direct);
    let afd = match register(shared, fd, lt.then_some(interest)) {
        Ok(a) => a,
        Err(e) => {
            shared.release_fd(fd, claim);
            return Err(e);
        }
    };
    let ctl = Arc::new(Ctl {
        slot: Slot::new(Arg::owned_by(arg, drop_arg, &shared.live)),
        fd,
        claim,
        rt: shared.clone(),
        interest: AtomicU32::new(interest),
        changed: AtomicBool::new(false),
        waker: OnceLock::new(),
    });
    // Created before the task: a future dropped before its first poll
    // (shutdown, abort) drops its captures, so the guard still runs.
    let stop_guard = StopOnDrop(ctl.clone());
    let h = if lt {
        let registered = interest & DIRECTIONS;
        shared.handle.spawn(LevelWatch::new(
            ctl.clone(),
            afd,
            registered,
            cb,
            stop_guard,
        ))
    } else {
        shared
            .handle
            .spawn(edge_watch(ctl.clone(), afd, target, cb, stop_guard))
    };
    if out.is_null() {
        // Detached: the watch runs until the runtime shuts down.
    } else {
        let w = Box::into_raw(Box::new(rt_watch {
            ctl,
            abort: h.abort_handle(),
            rt: shared.clone(),
        }));
        // SAFETY: non-NULL and writable per the callers' contracts.
        unsafe { out.write(w) };
    }
    Ok(())
}

/// Watches `fd`: `cb(arg, fd, ready)` runs on a runtime worker whenever
/// any of `interest` (RT_READABLE and/or RT_WRITABLE) is ready, and again
/// and again while it stays ready (level-triggered: read or write until
/// EAGAIN, or change the interest, or stop the watch). RT_HANGUP and
/// RT_ERROR are reported whatever the interest. Calls of one watch never
/// overlap. The fd should be non-blocking; the runtime never closes it.
///
/// `drop_arg` (may be NULL) is called exactly once, when the watch is
/// stopped or freed or at shutdown. `out` (may be NULL: the watch then
/// runs until shutdown) receives a handle the caller owns.
///
/// Errors: RT_ERR_NULL (`rt`, `cb`); RT_ERR_INVALID (negative, closed or
/// unpollable fd such as a regular file, unknown interest bits, no
/// READABLE/WRITABLE bit, fd already watched or registered on this
/// runtime); RT_ERR_IO; RT_ERR_SHUTDOWN. On error `arg` stays the
/// caller's.
///
/// # Safety
/// `rt` NULL or live; `cb`/`drop_arg` callable from any thread; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_fd_watch(
    rt: *mut rt_runtime,
    fd: c_int,
    interest: u32,
    cb: rt_watch_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_watch,
) -> rt_status {
    error::status("rt_fd_watch", || {
        // SAFETY: NULL or live per the contract. No use of `*rt` below (see
        // `shared_of`).
        let shared = unsafe { shared_of(rt) }?;
        watch(
            &shared,
            Target::Direct,
            fd,
            interest,
            cb,
            arg,
            drop_arg,
            out,
        )
    })
}

/// As rt_fd_watch, but `cb` runs on the serial queue `q` (one at a time,
/// in order with everything else bound to `q`). The watch keeps its own
/// reference to `q`.
///
/// Errors: as rt_fd_watch, with RT_ERR_NULL for `q`.
///
/// # Safety
/// As rt_fd_watch, with `q` NULL or a live queue reference.
#[no_mangle]
pub unsafe extern "C" fn rt_fd_watch_on(
    q: *mut rt_queue,
    fd: c_int,
    interest: u32,
    cb: rt_watch_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_watch,
) -> rt_status {
    error::status("rt_fd_watch_on", || {
        // SAFETY: NULL or live per the contract.
        let q = unsafe { clone_queue(q) }?;
        let shared = q.rt.clone();
        watch(
            &shared,
            Target::Queue(q),
            fd,
            interest,
            cb,
            arg,
            drop_arg,
            out,
        )
    })
}

/// Changes what the watch waits for; takes effect before the next
/// callback. Callable from any thread, including from inside the watch's
/// own callback.
///
/// Errors: RT_ERR_NULL; RT_ERR_INVALID (unknown bits, or neither
/// RT_READABLE nor RT_WRITABLE: stop the watch instead); RT_ERR_SHUTDOWN.
///
/// # Safety
/// `w` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_watch_set_interest(w: *mut rt_watch, interest: u32) -> rt_status {
    error::status("rt_watch_set_interest", || {
        // SAFETY: NULL or live per the contract.
        let w = unsafe { non_null(w, "w") }?;
        check_interest(interest)?;
        w.rt.check_open()?;
        w.ctl.set_interest(interest);
        Ok(())
    })
}

/// Stops the watch. Synchronous: once this returns, the callback is not
/// running (unless this is called from inside it, which then finishes
/// normally), never runs again, and the fd may be closed (and its number
/// reused, even for a new watch); `drop_arg` has run (or runs when that
/// callback returns). Idempotent. The same lock-cycle rule as for
/// rt_timer_stop applies: not from a callback or `drop_arg` that this
/// watch's callback or `drop_arg` is waiting on.
///
/// The runtime's private duplicate of the fd is released by the watch's
/// task right after (on the current-thread flavor: in the next
/// rt_runtime_run/run_once), so a peer may see your close(2) only then;
/// call shutdown(2) first if it must see EOF at once.
///
/// Errors: RT_ERR_NULL; RT_ERR_SHUTDOWN (already stopped by shutdown).
///
/// # Safety
/// `w` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_watch_stop(w: *mut rt_watch) -> rt_status {
    error::status("rt_watch_stop", || {
        // SAFETY: NULL or live per the contract.
        let w = unsafe { non_null(w, "w") }?;
        // Own references first: the stop may run `drop_arg` here, and a
        // `drop_arg` may free this handle (a context owning its watch).
        let (ctl, abort, rt) = (w.ctl.clone(), w.abort.clone(), w.rt.clone());
        ctl.stop(Wait::ForOthers);
        abort.abort();
        rt.check_open()
    })
}

/// Stops the watch (as rt_watch_stop) and frees it; never closes the fd.
/// NULL is ignored.
///
/// # Safety
/// `w` NULL or live; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_watch_free(w: *mut rt_watch) {
    if w.is_null() {
        return;
    }
    // SAFETY: owned pointer from Box::into_raw per the contract.
    let w = unsafe { Box::from_raw(w) };
    error::quiet("rt_watch_free", move || {
        w.ctl.stop(Wait::ForOthers);
        w.abort.abort();
    });
}
