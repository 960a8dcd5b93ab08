//! `rt_task`: spawning C functions and C futures, and awaiting them from C
//! (blocking join, polling with a waker, or a completion callback: those
//! are in `task/join.rs`).
//!
//! # Design
//! Every spawned unit has one *join slot* ([`TaskShared`]): the outcome,
//! joiners' wakers, the on_complete callback, the runtime, and how to abort
//! the unit. The C side's `rt_task *` is a reference to it. The slot is
//! completed exactly once ([`TaskShared::complete`]): with the result when
//! the body finished, or with `RT_ERR_CANCELLED` (aborted) /
//! `RT_ERR_SHUTDOWN` (runtime shut down) when it never did. Completing
//! notifies blocked joiners (condvar), wakes pollers, and runs the
//! `rt_task_on_complete` callback outside the lock.
//!
//! `rt_spawn` and `rt_spawn_future` run as core tasks whose future owns a
//! [`Completer`] (completing from its destructor if the body never
//! finished) and are aborted through their `AbortHandle`.
//! `rt_spawn_blocking` queues the slot itself on the blocking pool as a
//! [`BlockingWork`] item holding the body ([`JobBody`]) until a pool thread
//! takes it: one allocation per call in all, which is what a stream of
//! short work items costs (benches `c_pool_work`). Aborting such a job sets
//! `aborted`; the pool thread that takes it then drops the body (calling
//! `drop_arg`) and completes it with RT_ERR_CANCELLED, as a queued core
//! task would be cancelled when reached. The pool thread then hands the
//! slot back to the spawning side to be freed (`Shared::retire`).
//!
//! # Ownership
//! `rt_task *` is one strong reference to the task's join slot (an
//! `Arc<TaskShared>` behind the opaque `rt_task`), the caller's alone
//! until `rt_task_free`, which drops it and detaches (the task keeps
//! running); no allocation besides the slot. The task's
//! `arg`/`state` is owned by the runtime until `drop_arg`/`drop_state` runs,
//! which happens before the result becomes visible to joiners. The result
//! pointer is the C program's: the runtime never frees it.
use crate::callback::{off_runtime_thread, on_runtime_thread, rt_drop_fn, Arg, SendPtr};
use crate::error::{self, non_null, rt_status, Error, Result};
use crate::runtime::{rt_runtime, shared_of, Shared};
use crate::waker::rt_waker;
use runtime_core::runtime::BlockingWork;
use runtime_core::task::AbortHandle;
use std::ffi::c_void;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

mod join;
pub use join::{
    rt_task_abort, rt_task_free, rt_task_is_finished, rt_task_join, rt_task_on_complete,
    rt_task_poll,
};

/// Result of polling a future.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rt_poll {
    /// Not finished; the waker will be woken when progress is possible.
    RT_PENDING = 0,
    /// Finished; the out-parameters are filled.
    RT_READY = 1,
}

/// A task body: runs once on a runtime thread and returns the task's
/// result (handed to whoever joins; never freed by the runtime).
#[allow(non_camel_case_types)]
pub type rt_task_fn = Option<unsafe extern "C" fn(arg: *mut c_void) -> *mut c_void>;

/// A C future: called on a runtime worker (one call at a time, never
/// concurrently) until it returns RT_READY after storing its result in
/// `*result`. Before returning RT_PENDING it must arrange for `waker` (or a
/// clone: the pointer itself is borrowed for this call) to be woken.
#[allow(non_camel_case_types)]
pub type rt_poll_fn = Option<
    unsafe extern "C" fn(
        state: *mut c_void,
        waker: *const rt_waker,
        result: *mut *mut c_void,
    ) -> rt_poll,
>;

/// A completion callback: `st` is RT_OK (with the task's result),
/// RT_ERR_CANCELLED, RT_ERR_SHUTDOWN, RT_ERR_PANIC or RT_ERR_INVALID (an
/// rt_spawn_future `poll` returned another value); result NULL.
#[allow(non_camel_case_types)]
pub type rt_complete_fn =
    Option<unsafe extern "C" fn(arg: *mut c_void, st: rt_status, result: *mut c_void)>;

/// An opaque handle to a spawned task (rt_spawn, rt_spawn_blocking,
/// rt_spawn_future). Owned by the caller until rt_task_free.
// Never instantiated: an `rt_task *` is a `*const TaskShared` from
// `Arc::into_raw` (see `publish` and `slot_of`).
#[allow(non_camel_case_types)]
pub struct rt_task {
    _opaque: [u8; 0],
}

/// The join slot behind a C handle.
///
/// # Safety
/// `t` must be NULL or a live handle from `publish` (not yet freed).
unsafe fn slot_of<'a>(t: *const rt_task) -> Result<&'a TaskShared> {
    // SAFETY: per the contract, a non-NULL `t` is `Arc::into_raw` of a
    // `TaskShared` whose reference the caller still owns.
    unsafe { non_null(t.cast::<TaskShared>(), "t") }
}

/// The join slot shared by a task's body and its `rt_task`.
pub(crate) struct TaskShared {
    state: Mutex<SlotState>,
    cond: Condvar,
    /// How `rt_task_abort` stops a core task (rt_spawn, rt_spawn_future),
    /// set right after spawning, before the handle is published. Never set
    /// for a blocking job, which is aborted through `SlotState::aborted`.
    abort: OnceLock<AbortHandle>,
    /// The runtime, for both the `rt_task` and the completer: one
    /// reference per task (a shared count touched from the spawning thread
    /// and the finishing one, so each extra clone costs a cache miss).
    rt: Arc<Shared>,
}

#[derive(Default)]
struct SlotState {
    outcome: Option<(rt_status, SendPtr)>,
    /// The outcome was handed to a joiner (join or poll).
    joined: bool,
    /// Threads blocked in `rt_task_join` on `cond`: the finisher signals
    /// the condvar only when there is one (a futex call per task
    /// otherwise).
    blocked: usize,
    wakers: Vec<Waker>,
    on_complete: Option<(
        unsafe extern "C" fn(*mut c_void, rt_status, *mut c_void),
        SendPtr,
    )>,
    /// A callback was accepted (it may have run and been taken already):
    /// one callback per task, so later registrations fail (found by
    /// ffi/fuzz: a second one was accepted once the first had run).
    cb_registered: bool,
    /// An rt_spawn_blocking body not yet taken by a pool thread.
    job: Option<JobBody>,
    /// rt_task_abort was called on a blocking job: its body must not run.
    aborted: bool,
}

/// rt_spawn_blocking's body while its job waits in the pool's queue. The
/// slot holding it completes itself (no [`Completer`]): the pool calls
/// `run` or `cancel` exactly once, and each ends with [`TaskShared::complete`],
/// after `arg` (its `drop_arg`) was dropped; the slot's live count, taken
/// in `new_slot`, covers the argument until then.
struct JobBody {
    f: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    arg: Arg,
}

impl BlockingWork for TaskShared {
    fn run(self: Arc<Self>) {
        let body = {
            let mut s = self.lock();
            if s.aborted {
                None
            } else {
                s.job.take()
            }
        };
        let Some(JobBody { f, arg }) = body else {
            // Aborted while queued: ends as a job the pool never ran.
            return self.cancel();
        };
        // SAFETY: the rt_spawn_blocking contract: `fn(arg)` runs once on a
        // blocking-pool thread.
        let r = off_runtime_thread(|| unsafe { f(arg.get()) });
        drop(arg);
        self.complete(rt_status::RT_OK, r);
        retire(self);
    }

    fn cancel(self: Arc<Self>) {
        let body = self.lock().job.take();
        if let Some(JobBody { arg, .. }) = body {
            drop(arg);
            self.complete(self.cancel_status(), std::ptr::null_mut());
        }
        retire(self);
    }
}

/// Hands a finished job's slot to its runtime's retired queue (see
/// `Shared::retire`) instead of dropping it on the pool thread.
fn retire(slot: Arc<TaskShared>) {
    let rt: *const Shared = Arc::as_ptr(&slot.rt);
    // SAFETY: `slot` holds a strong reference to the `Shared` behind `rt`,
    // so it is alive when `retire` starts. Inside, `slot` is either dropped
    // after the last use of `*rt`, or pushed into `rt`'s queue under its
    // lock, after which `retire` touches `*rt` only to unlock: another
    // thread (shutdown) may take the slot and drop the last reference as
    // soon as the lock is free, never before.
    unsafe { (*rt).retire(slot) }
}

impl TaskShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fills the slot: publishes the outcome, wakes joiners and pollers,
    /// runs the on_complete callback, then releases the task's live count.
    /// Called exactly once per slot (by its `Completer`, or by a blocking
    /// job's `run`/`cancel`).
    fn complete(&self, st: rt_status, result: *mut c_void) {
        let (wakers, cb, blocked) = {
            let mut s = self.lock();
            s.outcome = Some((st, SendPtr(result)));
            (
                std::mem::take(&mut s.wakers),
                s.on_complete.take(),
                s.blocked,
            )
        };
        if blocked > 0 {
            self.cond.notify_all();
        }
        for w in wakers {
            w.wake();
        }
        if let Some((cb, arg)) = cb {
            // SAFETY: the rt_task_on_complete contract: `cb(arg, st, result)`
            // is called exactly once from any thread.
            on_runtime_thread(|| unsafe { cb(arg.0, st, result) });
        }
        self.rt.live.dec();
    }

    /// The status of a unit that ended without finishing its body.
    fn cancel_status(&self) -> rt_status {
        if self.rt.is_shut() {
            rt_status::RT_ERR_SHUTDOWN
        } else {
            rt_status::RT_ERR_CANCELLED
        }
    }
}

/// Fills a task's join slot exactly once.
pub(crate) struct Completer {
    slot: Arc<TaskShared>,
    /// The slot is filled: later `finish` calls (and the drop) do nothing.
    /// Until then the task is counted in the runtime's live arguments
    /// (`rt.live`), so that a shutdown that waits for the arguments
    /// (rt_runtime_free after a timed-out rt_runtime_shutdown) also waits
    /// for the outcome and the on_complete callback: `drop_arg` runs before
    /// the outcome is published, so the argument alone is not enough
    /// (found by ffi/fuzz).
    done: bool,
}

impl Completer {
    fn finish(&mut self, st: rt_status, result: *mut c_void) {
        if !std::mem::replace(&mut self.done, true) {
            self.slot.complete(st, result);
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        let st = self.slot.cancel_status();
        self.finish(st, std::ptr::null_mut());
    }
}

/// `rt_spawn`'s future: calls `fn(arg)` once.
///
/// Field order matters (here and in [`CFuture`]): a task dropped before it
/// finished drops `arg` (its `drop_arg`) before `done` publishes the
/// cancellation, so `arg` needs no live count of its own: `done`'s covers
/// it until the outcome is out.
struct FnTask {
    f: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    arg: Option<Arg>,
    done: Completer,
}

impl Future for FnTask {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if let Some(arg) = this.arg.take() {
            // SAFETY: the rt_spawn contract: `fn(arg)` runs once on any
            // runtime thread.
            let r = on_runtime_thread(|| unsafe { (this.f)(arg.get()) });
            drop(arg);
            this.done.finish(rt_status::RT_OK, r);
        }
        Poll::Ready(())
    }
}

/// An `rt_poll_fn` as this library calls it: returning the C enum's
/// integer, so that a value other than RT_PENDING (0) or RT_READY (1) is
/// an error to report rather than an invalid `rt_poll` (undefined
/// behaviour in Rust). C returns an enum as its `unsigned int`, in the
/// same register as a `uint32_t`.
type RawPollFn = unsafe extern "C" fn(*mut c_void, *const rt_waker, *mut *mut c_void) -> u32;

/// `rt_spawn_future`'s future: polls the C state machine.
struct CFuture {
    /// The C poll function, its result read as the integer it is (see
    /// [`RawPollFn`]).
    poll: RawPollFn,
    state: Option<Arg>,
    done: Completer,
}

impl Future for CFuture {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(state) = this.state.as_ref() else {
            return Poll::Ready(());
        };
        let waker = rt_waker {
            waker: cx.waker().clone(),
        };
        let mut result: *mut c_void = std::ptr::null_mut();
        // SAFETY: the rt_spawn_future contract: `poll(state, waker, &result)`
        // is called on one thread at a time with a waker borrowed for the
        // call.
        let p = on_runtime_thread(|| unsafe { (this.poll)(state.get(), &waker, &mut result) });
        match p {
            0 => Poll::Pending,
            1 => {
                drop(this.state.take());
                this.done.finish(rt_status::RT_OK, result);
                Poll::Ready(())
            }
            // Neither RT_PENDING nor RT_READY: the task ends in error.
            _ => {
                drop(this.state.take());
                this.done
                    .finish(rt_status::RT_ERR_INVALID, std::ptr::null_mut());
                Poll::Ready(())
            }
        }
    }
}

/// A join slot owning `rt`'s reference, and its completer; the task is
/// counted live until the slot is completed.
fn new_slot(rt: Arc<Shared>) -> (Arc<TaskShared>, Completer) {
    let slot = new_slot_with(rt, None);
    let c = Completer {
        slot: slot.clone(),
        done: false,
    };
    (slot, c)
}

/// A join slot owning `rt`'s reference (counted live until completed),
/// holding a blocking job's body if any.
fn new_slot_with(rt: Arc<Shared>, job: Option<JobBody>) -> Arc<TaskShared> {
    rt.live.inc();
    Arc::new(TaskShared {
        state: Mutex::new(SlotState {
            job,
            ..SlotState::default()
        }),
        cond: Condvar::new(),
        abort: OnceLock::new(),
        rt,
    })
}

/// Hands the caller its reference to the slot (dropped if `out` is NULL:
/// a detached task).
fn publish(out: *mut *mut rt_task, slot: Arc<TaskShared>) {
    if !out.is_null() {
        // The handle is the slot's reference itself (see `rt_task`).
        let t = Arc::into_raw(slot).cast::<rt_task>().cast_mut();
        // SAFETY: `out` is non-NULL and writable per the callers' contracts.
        unsafe { out.write(t) };
    }
}

/// Spawns `fn(arg)` as a task on the runtime's workers.
///
/// `fn` runs once, on some runtime worker thread (on the thread inside
/// rt_runtime_run for the current-thread flavor); it must not block for
/// long (use rt_spawn_blocking). `drop_arg` (may be NULL) is called exactly
/// once when the runtime no longer needs `arg`: right after `fn` returned
/// (before joiners see the result), or when the task is aborted or the
/// runtime shuts down before it ran. If `out` is non-NULL it receives a
/// task handle the caller owns (rt_task_free); NULL detaches the task.
///
/// Errors: RT_ERR_NULL (`rt`, `fn`), RT_ERR_SHUTDOWN. On any error
/// nothing was spawned, `arg` still belongs to the caller and `drop_arg` is
/// not called.
///
/// # Safety
/// `rt` must be NULL or live; `fn`/`drop_arg` callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn rt_spawn(
    rt: *mut rt_runtime,
    fn_: rt_task_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_task,
) -> rt_status {
    error::status("rt_spawn", || {
        // SAFETY: NULL or live per the contract. No use of `*rt` below (see
        // `shared_of`).
        let shared = unsafe { shared_of(rt) }?;
        let f = fn_.ok_or_else(|| Error::null("fn"))?;
        shared.check_open()?;
        let (slot, done) = new_slot(shared);
        let fut = FnTask {
            f,
            // Counted by `done`, dropped before it (see FnTask).
            arg: Some(Arg::new(arg, drop_arg)),
            done,
        };
        let h = slot.rt.handle.spawn(fut);
        let _ = slot.abort.set(h.abort_handle());
        publish(out, slot);
        Ok(())
    })
}

/// Runs `fn(arg)` on the blocking pool, a set of threads where blocking
/// (file I/O, sleeping, rt_task_join, rt_completion_wait) is allowed.
///
/// Ownership, `drop_arg` and `out` as for rt_spawn. rt_task_abort only
/// prevents a body that has not started yet; a running body finishes.
///
/// Errors: RT_ERR_NULL, RT_ERR_SHUTDOWN (then `arg` stays the caller's).
///
/// # Safety
/// As rt_spawn.
#[no_mangle]
pub unsafe extern "C" fn rt_spawn_blocking(
    rt: *mut rt_runtime,
    fn_: rt_task_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_task,
) -> rt_status {
    error::status("rt_spawn_blocking", || {
        // SAFETY: NULL or live per the contract. No use of `*rt` below (see
        // `shared_of`).
        let shared = unsafe { shared_of(rt) }?;
        let f = fn_.ok_or_else(|| Error::null("fn"))?;
        shared.check_open()?;
        shared.reclaim_retired();
        // The slot completes itself (see JobBody), so no Completer.
        let slot = new_slot_with(
            shared,
            Some(JobBody {
                f,
                arg: Arg::new(arg, drop_arg),
            }),
        );
        // Either a pool thread takes the body, or (shut down, no thread)
        // `cancel` drops it: the task completes either way.
        slot.rt.handle.spawn_blocking_work(slot.clone());
        publish(out, slot);
        Ok(())
    })
}

/// Spawns a C future: `poll(state, waker, &result)` is called on runtime
/// workers (one call at a time) until it returns RT_READY; it is called
/// again only after the waker (or a clone) is woken. The waker pointer is
/// borrowed for the call: rt_waker_clone it to keep it.
///
/// `drop_state` (may be NULL) is called exactly once: after `poll`
/// returned RT_READY (before joiners see the result), or when the task is
/// aborted or the runtime shuts down first. `out` as for rt_spawn. A
/// `poll` returning any other value ends the task with RT_ERR_INVALID
/// (its state dropped, result NULL).
///
/// Errors: RT_ERR_NULL (`rt`, `poll`), RT_ERR_SHUTDOWN (then `state`
/// stays the caller's).
///
/// # Safety
/// As rt_spawn.
#[no_mangle]
pub unsafe extern "C" fn rt_spawn_future(
    rt: *mut rt_runtime,
    poll: rt_poll_fn,
    state: *mut c_void,
    drop_state: rt_drop_fn,
    out: *mut *mut rt_task,
) -> rt_status {
    error::status("rt_spawn_future", || {
        // SAFETY: NULL or live per the contract. No use of `*rt` below (see
        // `shared_of`).
        let shared = unsafe { shared_of(rt) }?;
        let poll = poll.ok_or_else(|| Error::null("poll"))?;
        // SAFETY: the same C function, called through a pointer whose
        // return type is the enum's underlying integer (see `RawPollFn`);
        // both pointer types have the same size and C calling convention.
        let poll = unsafe {
            std::mem::transmute::<
                unsafe extern "C" fn(*mut c_void, *const rt_waker, *mut *mut c_void) -> rt_poll,
                RawPollFn,
            >(poll)
        };
        shared.check_open()?;
        let (slot, done) = new_slot(shared);
        let fut = CFuture {
            poll,
            // Counted by `done`, dropped before it (see FnTask).
            state: Some(Arg::new(state, drop_state)),
            done,
        };
        let h = slot.rt.handle.spawn(fut);
        let _ = slot.abort.set(h.abort_handle());
        publish(out, slot);
        Ok(())
    })
}
