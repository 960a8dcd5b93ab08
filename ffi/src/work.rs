//! `rt_queue_work`: blocking-pool work in storage the caller owns, as
//! libuv's `uv_queue_work` (one call per item, no allocation, no handle).
//!
//! The caller's `rt_work` holds a [`WorkState`]: the two callbacks and the
//! item's state. The item is queued as a core [`RawBlockingWork`] pointing
//! at it, so the pool's queue holds the caller's pointer: nothing is
//! allocated per item, and on a multi-thread runtime no count shared by
//! the queueing thread and the pool thread is touched per item (each such
//! count costs a cache-line transfer between them: benches `c_pool_work`;
//! on a current-thread runtime the item holds the paused clock's
//! auto-advance back, as every blocking job does).
//!
//! Invariants:
//! - `state` leaves `QUEUED` once: → `RUNNING` (a pool thread took it, by
//!   compare-and-swap), → `CANCELLED` (rt_work_cancel, by compare-and-swap)
//!   or → `CANCELLED` (the pool will never run it: a shutdown, no thread;
//!   `cancel_item` swaps it in before `done`). Whoever loses does not run
//!   `work`, and an rt_work_cancel made after any of these is refused.
//! - `done` is called exactly once per successful rt_queue_work, last: the
//!   runtime reads the storage only before it, so `done` may free or reuse
//!   it.
//! - Shutdown: the pool cancels every item still queued (`done` with
//!   RT_ERR_SHUTDOWN, or RT_ERR_CANCELLED for one rt_work_cancel reached
//!   first); items running finish on their pool threads. A
//!   shutdown that waits for running work (rt_runtime_shutdown,
//!   rt_runtime_free) waits until the pool has nothing queued, running or
//!   being cancelled (`Handle::wait_blocking_idle`, in `Shared::shutdown`),
//!   so every `done` has returned when it does. Only the pool's threads,
//!   or a thread counted as one of them meanwhile, cancel queued items.
use crate::callback::{off_runtime_thread, on_runtime_thread};
use crate::error::{self, non_null, rt_status, Error};
use crate::runtime::{rt_runtime, shared_of};
use runtime_core::runtime::{CancelReason, RawBlockingWork};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Storage for one queued work item, owned by the caller (embed it in your
/// own struct, as with uv_work_t). rt_queue_work fills it; it must stay
/// valid, and must not be moved or queued again, until `done` is called.
/// Its fields are private to the library.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rt_work {
    _private: [usize; 4],
}

/// The work body: runs once on a blocking-pool thread (where blocking
/// calls are allowed).
#[allow(non_camel_case_types)]
pub type rt_work_fn = Option<unsafe extern "C" fn(w: *mut rt_work)>;

/// Called exactly once per queued item, last: with RT_OK after `work`
/// returned (on the same pool thread); or, without `work` having run, with
/// RT_ERR_CANCELLED (rt_work_cancel, or no pool thread could be started)
/// or RT_ERR_SHUTDOWN (the runtime shut down first). The storage is the
/// caller's again once `done` is called: it may free or reuse it. `done`
/// counts as a callback of the runtime (a shutdown waits for it to
/// return): the library's waiting calls made from it (rt_completion_wait,
/// rt_task_join, rt_runtime_shutdown) fail with RT_ERR_WOULD_DEADLOCK;
/// block in `work` instead.
#[allow(non_camel_case_types)]
pub type rt_work_done_fn = Option<unsafe extern "C" fn(w: *mut rt_work, st: rt_status)>;

/// What an `rt_work` holds while queued.
#[repr(C)]
struct WorkState {
    work: unsafe extern "C" fn(*mut rt_work),
    done: unsafe extern "C" fn(*mut rt_work, rt_status),
    state: AtomicUsize,
}

const _: () = assert!(
    std::mem::size_of::<WorkState>() <= std::mem::size_of::<rt_work>()
        && std::mem::align_of::<WorkState>() <= std::mem::align_of::<rt_work>()
);

const QUEUED: usize = 1;
const RUNNING: usize = 2;
const CANCELLED: usize = 3;

/// Queues `work(w)` on the runtime's blocking pool; `done(w, status)`
/// follows it on the same thread (see rt_work_done_fn). The one-call,
/// allocation-free counterpart of rt_spawn_blocking + rt_task_on_complete,
/// for work whose result the caller keeps in its own storage.
///
/// On RT_OK `done` is called exactly once, possibly before this returns:
/// with RT_ERR_SHUTDOWN when a shutdown races the call, or with
/// RT_ERR_CANCELLED when the pool has no thread and cannot start one (then
/// other items queued meanwhile are cancelled on this thread too). On an
/// error it is not called and `*w` is untouched.
///
/// Errors: RT_ERR_NULL (`rt`, `w`, `work`, `done`), RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` NULL or live; `w` NULL or valid, writable storage for an rt_work
/// that is not queued; `work`/`done` callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn rt_queue_work(
    rt: *mut rt_runtime,
    w: *mut rt_work,
    work: rt_work_fn,
    done: rt_work_done_fn,
) -> rt_status {
    error::status("rt_queue_work", || {
        // SAFETY: NULL or live per the contract. No use of `*rt` below (see
        // `shared_of`).
        let shared = unsafe { shared_of(rt) }?;
        if w.is_null() {
            return Err(Error::null("w"));
        }
        let work = work.ok_or_else(|| Error::null("work"))?;
        let done = done.ok_or_else(|| Error::null("done"))?;
        shared.check_open()?;
        // SAFETY: `w` is valid, writable storage for an rt_work (the
        // contract), large and aligned enough for a WorkState (the
        // assertion above), and not queued, so nobody else uses it.
        unsafe {
            w.cast::<WorkState>().write(WorkState {
                work,
                done,
                state: AtomicUsize::new(QUEUED),
            })
        };
        // SAFETY: `run_item`/`cancel_item` may be called from any thread
        // (the callbacks are, per the contract); the storage stays valid
        // until `done`, which one of them calls last, exactly once.
        let item = unsafe { RawBlockingWork::new(w.cast(), run_item, cancel_item) };
        shared.handle.spawn_blocking_raw(item);
        Ok(())
    })
}

/// Keeps a queued item from running, if no pool thread has taken it yet:
/// its `done` is then called with RT_ERR_CANCELLED (when a pool thread
/// reaches it, or at shutdown), and `work` never runs.
///
/// Errors: RT_ERR_NULL; RT_ERR_INVALID when the item has already started,
/// was cancelled before, or was ended without running (a shutdown, or no
/// pool thread); its `done` comes as usual (or came).
///
/// # Safety
/// `w` NULL or an item queued with rt_queue_work whose storage is still
/// valid: its `done` has not been called, or the caller keeps the storage
/// alive past `done` while it may call this.
#[no_mangle]
pub unsafe extern "C" fn rt_work_cancel(w: *mut rt_work) -> rt_status {
    error::status("rt_work_cancel", || {
        // SAFETY: NULL or a queued item's live storage per the contract.
        let s = unsafe { non_null(w.cast::<WorkState>().cast_const(), "w") }?;
        match s
            .state
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(RUNNING) => Err(Error::invalid(
                "the work item has already started (or finished)",
            )),
            Err(_) => Err(Error::invalid(
                "the work item was already cancelled (or is not queued)",
            )),
        }
    })
}

/// The pool took the item: runs `work` unless it was cancelled, then
/// `done`.
///
/// # Safety
/// `data` is a queued item's `rt_work` (see `rt_queue_work`), not yet
/// finished.
unsafe fn run_item(data: *mut ()) {
    // SAFETY: per the contract the storage holds a WorkState until `done`.
    let s = unsafe { &*data.cast::<WorkState>() };
    let st = match s
        .state
        .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
    {
        Ok(_) => {
            let w = data.cast::<rt_work>();
            // SAFETY: the rt_queue_work contract: `work(w)` runs once on a
            // blocking-pool thread.
            off_runtime_thread(|| unsafe { (s.work)(w) });
            rt_status::RT_OK
        }
        Err(_) => rt_status::RT_ERR_CANCELLED,
    };
    // SAFETY: still queued and unfinished; `finish` is its one `done`.
    unsafe { finish(data, st) }
}

/// The item will never run (shutdown, no pool thread): `done` with the
/// matching status. The item is marked cancelled first, so that an
/// `rt_work_cancel` racing this one, or made after `done` on storage the
/// caller kept, is refused rather than promising a cancellation that
/// cannot come; one that came first wins, and `done` then reports it.
///
/// # Safety
/// As `run_item`.
unsafe fn cancel_item(data: *mut (), reason: CancelReason) {
    // SAFETY: per the contract the storage holds a WorkState until `done`.
    let s = unsafe { &*data.cast::<WorkState>() };
    let before = s.state.swap(CANCELLED, Ordering::AcqRel);
    let st = if reason == CancelReason::Shutdown && before == QUEUED {
        rt_status::RT_ERR_SHUTDOWN
    } else {
        rt_status::RT_ERR_CANCELLED
    };
    // SAFETY: as above; `finish` is its one `done`.
    unsafe { finish(data, st) }
}

/// Calls the item's `done`.
///
/// # Safety
/// `data` is a queued item's storage, not yet finished; it is the caller's
/// again once `done` starts (nothing reads it afterwards).
unsafe fn finish(data: *mut (), st: rt_status) {
    // SAFETY: per the contract the storage holds a WorkState; `done` is
    // copied out before it may free it.
    let done = unsafe { (*data.cast::<WorkState>()).done };
    // SAFETY: the rt_queue_work contract: `done(w, st)` is called once,
    // from any thread.
    on_runtime_thread(|| unsafe { done(data.cast(), st) });
}
