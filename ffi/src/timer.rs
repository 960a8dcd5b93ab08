//! `rt_timer` (callback timers, one-shot or repeating, optionally bound to
//! a serial queue) and `rt_sleep` (a sleep polled as a leaf future).
//!
//! # Design
//! A timer is a task on the runtime that sleeps until each deadline and
//! then runs the callback through its [`Slot`] (inline, or as a job on its
//! queue, awaiting the job before the next tick), so the callback never
//! runs inline in `rt_timer_start` and never runs twice at once. Repeating
//! timers tick at fixed deadlines (`start + delay + k * repeat`); ticks
//! missed while the callback or the runtime was busy are skipped, not
//! bunched. A timer started without a handle on no queue (`Inline`)
//! cannot be stopped by anyone, so its task owns the argument and calls
//! the callback directly: no slot, one allocation per timer, and the task
//! is a hand-written future (`InlineTicks`) a third smaller than the
//! `async fn` the other timers run.
//!
//! # Stop and shutdown
//! `rt_timer_stop` stops the slot (synchronously: see `slot.rs`) and
//! aborts the task. When the task ends for any reason (one-shot fired,
//! aborted, runtime shut down) its guard stops the slot (or, for an
//! `Inline` timer, drops the argument), which runs `drop_arg` exactly
//! once.
//!
//! # Ownership
//! `rt_timer *` and `rt_sleep *` are `Box`es owned by the caller.
use crate::callback::{on_runtime_thread, rt_drop_fn, Arg};
use crate::error::{self, non_null, rt_status, Error, Result};
use crate::queue::{clone_queue, rt_queue, Target};
use crate::runtime::{rt_runtime, shared_of, Shared};
use crate::slot::Slot;
use crate::task::rt_poll;
use crate::waker::rt_waker;
use runtime_core::task::AbortHandle;
use runtime_core::time::{sleep, sleep_until, Duration, Instant, Sleep};
use std::ffi::c_void;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A timer or queue callback.
#[allow(non_camel_case_types)]
pub type rt_timer_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// An opaque running timer, owned by the caller until rt_timer_free.
#[allow(non_camel_case_types)]
pub struct rt_timer {
    slot: Arc<Slot>,
    abort: AbortHandle,
    rt: Arc<Shared>,
}

/// An opaque sleep, owned by the caller until rt_sleep_free.
#[allow(non_camel_case_types)]
pub struct rt_sleep {
    sleep: Pin<Box<Sleep>>,
    rt: Arc<Shared>,
}

/// Stops the slot (without waiting) when dropped.
struct StopOnDrop(Arc<Slot>);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // The task's own stop: nobody waits for it, so it never blocks the
        // worker on a call or release running elsewhere.
        self.0.stop_nowait();
    }
}

/// The next deadline of a repeating timer after `deadline` fired: one
/// `repeat` later, or, if that already passed, the first tick after now
/// (missed ticks are skipped, not bunched). `None`: beyond any instant.
fn next_deadline(deadline: Instant, repeat: Duration) -> Option<Instant> {
    let now = Instant::now();
    match deadline.checked_add(repeat) {
        Some(d) if d > now => Some(d),
        Some(_) => {
            let behind = now.duration_since(deadline).as_nanos();
            let step = repeat.as_nanos().max(1);
            let skip = behind / step + 1;
            Some(
                match u32::try_from(skip).ok().and_then(|k| repeat.checked_mul(k)) {
                    Some(adv) => deadline + adv,
                    None => now + repeat,
                },
            )
        }
        None => None,
    }
}

/// A timer without a handle on no queue: nothing can stop it but its own
/// end or shutdown, and its callback runs only inside its own task, so the
/// task owns the argument directly (dropping it runs `drop_arg` once,
/// however the task ends) and needs no shared slot.
struct Inline {
    cb: unsafe extern "C" fn(*mut c_void),
    arg: Arg,
}

impl Inline {
    /// Runs the callback once, on the calling runtime thread.
    fn call(&mut self) {
        // SAFETY: the rt_timer_start contract: `cb(arg)` may run on any
        // runtime thread while the timer runs.
        on_runtime_thread(|| unsafe { (self.cb)(self.arg.get()) });
    }
}

/// The task of an [`Inline`] timer, written out instead of as
/// [`ticks`]: an `async fn` keeps its arguments and every local that lives
/// across an await (the first and current deadlines, the period) beside
/// the sleep, 232 bytes against this one's 144, and a million pending
/// timers are a million of these.
///
/// `sleep` is built for its first deadline when the task is created (it
/// is filed in the timer wheel at the first poll, on a worker) and reset
/// to each later one; its entry carries the deadline, so the ticks are
/// `start + delay + k * repeat` as with [`ticks`]. `forever`: no
/// deadline is left (too far to represent); the task stays pending until
/// shutdown drops it, and with it the argument.
struct InlineTicks {
    /// Structurally pinned (see `poll`); every other field is not.
    sleep: Sleep,
    repeat_ms: u64,
    forever: bool,
    f: Inline,
}

impl Future for InlineTicks {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `sleep` is the only pinned field and is never moved out
        // of `self`: no code takes it by value or swaps it, and
        // `InlineTicks` has no `Drop` impl; `Sleep` is pinned in place
        // below. The other fields are plain data used by reference.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.sleep` stays where it is until dropped.
        let mut sleep = unsafe { Pin::new_unchecked(&mut this.sleep) };
        loop {
            if this.forever {
                return Poll::Pending;
            }
            ready!(sleep.as_mut().poll(cx));
            this.f.call();
            if this.repeat_ms == 0 {
                return Poll::Ready(());
            }
            match next_deadline(sleep.deadline(), Duration::from_millis(this.repeat_ms)) {
                Some(d) => sleep.as_mut().reset(d),
                None => this.forever = true,
            }
        }
    }
}

/// A timer with a handle or a queue: calls go through the shared [`Slot`],
/// which `rt_timer_stop` stops synchronously.
struct Slotted {
    cb: unsafe extern "C" fn(*mut c_void),
    target: Target,
    slot: Arc<Slot>,
    /// Stops the slot when the task ends, however it ends. Created before
    /// the task: a future dropped before its first poll (shutdown, abort)
    /// drops its captures, so the guard still runs.
    _stop: StopOnDrop,
}

impl Slotted {
    /// Runs the callback once (on the target); `false` ends the timer.
    async fn fire(&mut self) -> bool {
        let cb = self.cb;
        let ran = self
            .target
            .run_on(&self.slot, move |s| {
                // SAFETY: the rt_timer_start contract: `cb(arg)` may run on
                // any runtime thread until the timer is stopped.
                let _ = s.invoke(|a| unsafe { cb(a) });
            })
            .await;
        ran && !self.slot.is_stopped()
    }
}

/// The task of a [`Slotted`] timer: sleeps until each deadline and fires;
/// ends after a one-shot fired or when a tick returns `false`.
async fn ticks(first: Option<Instant>, repeat_ms: u64, mut f: Slotted) {
    let Some(mut deadline) = first else {
        // Beyond any representable instant: it never fires.
        return std::future::pending::<()>().await;
    };
    let repeat = Duration::from_millis(repeat_ms);
    loop {
        sleep_until(deadline).await;
        if !f.fire().await || repeat_ms == 0 {
            return;
        }
        match next_deadline(deadline, repeat) {
            Some(d) => deadline = d,
            None => return std::future::pending::<()>().await,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn start(
    shared: &Arc<Shared>,
    target: Target,
    delay_ms: u64,
    repeat_ms: u64,
    cb: rt_timer_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_timer,
) -> Result<()> {
    let cb = cb.ok_or_else(|| Error::null("cb"))?;
    shared.check_open()?;
    // The clock and the sleep are the runtime's (the caller's thread may
    // be in no runtime, or in another one).
    let enter = shared.handle.enter();
    let first = Instant::now().checked_add(Duration::from_millis(delay_ms));
    let arg = Arg::owned_by(arg, drop_arg, &shared.live);
    if out.is_null() && matches!(target, Target::Direct) {
        // Without a deadline the sleep is never polled, so never filed.
        let sleep = sleep_until(first.unwrap_or_else(Instant::now));
        drop(enter);
        let task = InlineTicks {
            sleep,
            repeat_ms,
            forever: first.is_none(),
            f: Inline { cb, arg },
        };
        drop(shared.handle.spawn(task));
        return Ok(());
    }
    drop(enter);
    let slot = Arc::new(Slot::new(arg));
    let fire = Slotted {
        cb,
        target,
        slot: slot.clone(),
        _stop: StopOnDrop(slot.clone()),
    };
    let h = shared.handle.spawn(ticks(first, repeat_ms, fire));
    if !out.is_null() {
        let t = Box::into_raw(Box::new(rt_timer {
            slot,
            abort: h.abort_handle(),
            rt: shared.clone(),
        }));
        // SAFETY: non-NULL and writable per the callers' contracts.
        unsafe { out.write(t) };
    }
    Ok(())
}

/// Starts a timer: `cb(arg)` runs on a runtime worker after `delay_ms`
/// (0 = soon, never inline in this call), then, if `repeat_ms` is not 0,
/// every `repeat_ms` (ticks missed while busy are skipped) until stopped.
/// Calls of one timer never overlap. A delay too large to represent
/// (e.g. UINT64_MAX) never fires.
///
/// `drop_arg` (may be NULL) is called exactly once: after a one-shot timer
/// fired, or when the timer is stopped/freed, or at shutdown. `out` (may be
/// NULL: the timer then runs until it ends by itself or the runtime shuts
/// down) receives a handle the caller owns (rt_timer_free).
///
/// Errors: RT_ERR_NULL (`rt`, `cb`), RT_ERR_SHUTDOWN (then `arg` stays
/// the caller's).
///
/// # Safety
/// `rt` NULL or live; `cb`/`drop_arg` callable from any thread; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_timer_start(
    rt: *mut rt_runtime,
    delay_ms: u64,
    repeat_ms: u64,
    cb: rt_timer_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_timer,
) -> rt_status {
    error::status("rt_timer_start", || {
        // SAFETY: NULL or live per the contract. No use of `*rt` below (see
        // `shared_of`).
        let shared = unsafe { shared_of(rt) }?;
        start(
            &shared,
            Target::Direct,
            delay_ms,
            repeat_ms,
            cb,
            arg,
            drop_arg,
            out,
        )
    })
}

/// As rt_timer_start, but `cb` runs on the serial queue `q`: one at a
/// time and in order with everything else bound to `q`. The timer keeps
/// its own reference to `q`.
///
/// Errors: RT_ERR_NULL (`q`, `cb`), RT_ERR_SHUTDOWN.
///
/// # Safety
/// As rt_timer_start, with `q` NULL or a live queue reference.
#[no_mangle]
pub unsafe extern "C" fn rt_timer_start_on(
    q: *mut rt_queue,
    delay_ms: u64,
    repeat_ms: u64,
    cb: rt_timer_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
    out: *mut *mut rt_timer,
) -> rt_status {
    error::status("rt_timer_start_on", || {
        // SAFETY: NULL or live per the contract.
        let q = unsafe { clone_queue(q) }?;
        let shared = q.rt.clone();
        start(
            &shared,
            Target::Queue(q),
            delay_ms,
            repeat_ms,
            cb,
            arg,
            drop_arg,
            out,
        )
    })
}

/// Stops the timer. Synchronous: once this returns, `cb` is not running
/// (unless this is called from inside `cb` itself, which then finishes
/// normally) and will never run again, and `drop_arg` has run or runs
/// when that `cb` returns. Idempotent; stopping a fired one-shot is RT_OK.
/// Must not be called from another timer's or watch's callback or
/// `drop_arg` while that one is waited on by this one's callback or
/// `drop_arg` (a lock cycle: e.g. two `drop_arg`s that each stop the
/// other's timer, started at the same time from two threads).
///
/// Errors: RT_ERR_NULL; RT_ERR_SHUTDOWN (the timer was already stopped by
/// the shutdown).
///
/// # Safety
/// `t` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn rt_timer_stop(t: *mut rt_timer) -> rt_status {
    error::status("rt_timer_stop", || {
        // SAFETY: NULL or live per the contract.
        let t = unsafe { non_null(t, "t") }?;
        // Own references first: the stop may run `drop_arg` here, and a
        // `drop_arg` may free this handle (a context owning its timer).
        let (slot, abort, rt) = (t.slot.clone(), t.abort.clone(), t.rt.clone());
        slot.stop();
        abort.abort();
        rt.check_open()
    })
}

/// Stops the timer (as rt_timer_stop) and frees the handle. NULL is
/// ignored.
///
/// # Safety
/// `t` NULL or live; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_timer_free(t: *mut rt_timer) {
    if t.is_null() {
        return;
    }
    // SAFETY: owned pointer from Box::into_raw per the contract.
    let t = unsafe { Box::from_raw(t) };
    error::quiet("rt_timer_free", move || {
        t.slot.stop();
        t.abort.abort();
    });
}

/// Creates a sleep that completes `delay_ms` from now (a value too large to
/// represent never completes), to be polled with rt_sleep_poll from a C
/// future or a foreign loop. The caller owns it (rt_sleep_free).
///
/// Errors: RT_ERR_NULL (`rt`, `out`), RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_sleep_new(
    rt: *mut rt_runtime,
    delay_ms: u64,
    out: *mut *mut rt_sleep,
) -> rt_status {
    error::status("rt_sleep_new", || {
        // SAFETY: NULL or live per the contract.
        let rt = unsafe { non_null(rt, "rt") }?;
        if out.is_null() {
            return Err(Error::null("out"));
        }
        rt.shared.check_open()?;
        let s = {
            let _enter = rt.shared.handle.enter();
            Box::pin(sleep(Duration::from_millis(delay_ms)))
        };
        let b = Box::into_raw(Box::new(rt_sleep {
            sleep: s,
            rt: rt.shared.clone(),
        }));
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(b) };
        Ok(())
    })
}

/// Polls the sleep: RT_READY once its deadline passed, else RT_PENDING
/// after arranging for `w` to be woken then (by the runtime's timer
/// driver, on a runtime thread). Never blocks.
///
/// On NULL `s`/`w`, or after the runtime shut down, it returns RT_READY
/// (so a poll loop never hangs) with the reason in rt_last_error().
///
/// A sleep is polled by one thread at a time (as a C future owns it);
/// polling the same sleep from two threads at once is undefined.
///
/// # Safety
/// `s` NULL or live, and not being polled or freed by another thread; `w`
/// NULL or a live waker.
#[no_mangle]
pub unsafe extern "C" fn rt_sleep_poll(s: *mut rt_sleep, w: *const rt_waker) -> rt_poll {
    error::value("rt_sleep_poll", rt_poll::RT_READY, || {
        if s.is_null() {
            return Err(Error::null("s"));
        }
        // SAFETY: non-NULL and live per the contract, which also makes
        // this call its only user (no concurrent poll or free).
        let s = unsafe { &mut *s };
        // SAFETY: NULL or live per the contract.
        let w = unsafe { rt_waker::borrow(w) }?;
        s.rt.check_open()?;
        let mut cx = Context::from_waker(w);
        Ok(match s.sleep.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(()) => rt_poll::RT_READY,
            std::task::Poll::Pending => rt_poll::RT_PENDING,
        })
    })
}

/// Frees the sleep (cancelling its timer). NULL is ignored.
///
/// # Safety
/// `s` NULL or live; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_sleep_free(s: *mut rt_sleep) {
    if s.is_null() {
        return;
    }
    // SAFETY: owned pointer from Box::into_raw per the contract.
    let s = unsafe { Box::from_raw(s) };
    error::quiet("rt_sleep_free", move || drop(s));
}
