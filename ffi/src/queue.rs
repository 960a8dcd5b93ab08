//! `rt_queue`: GCD's serial queue on the work-stealing pool.
//!
//! Everything bound to one queue (posted callbacks, timers and fd watches
//! created with `*_on`) runs one at a time, in order, on whichever worker
//! is free. There is no dedicated thread: while the queue has work, one
//! *drainer* task runs its jobs; when it empties, the drainer ends.
//!
//! # State (under `state`'s mutex)
//! - `items`: jobs not yet started, FIFO.
//! - `scheduled`: a drainer task exists (spawned or running). Set by the
//!   poster that finds it clear (who then spawns the drainer, outside the
//!   lock); cleared by the drainer when it finds `items` empty.
//! - `closed`: the runtime shut down under a drainer; nothing is accepted
//!   any more.
//!
//! # Shutdown protocol
//! When core drops an unfinished drainer (shutdown), its destructor sets
//! `closed` and drops every queued job, which calls each job's `drop_arg`
//! exactly once. A drainer that is running when the shutdown begins (one
//! of its jobs blocks, say) does the same before it takes its next job, so
//! no job starts once the drainer has seen the shutdown. Posting checks
//! `closed` and the runtime's shutdown flag under the lock, so a job is
//! either accepted (and later run or dropped) or refused with its `arg`
//! still the caller's.
//!
//! # Ownership
//! The C pointer is an `Arc<rt_queue>` (`Arc::into_raw`): reference
//! counted; the drainer and every timer/watch bound to the queue hold
//! their own reference, so `rt_queue_free` never cancels accepted work.
use crate::callback::{on_runtime_thread, rt_drop_fn, Arg};
use crate::error::{self, non_null, rt_status, Error, Result};
use crate::runtime::{rt_runtime, Shared};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A unit of queued work. Dropping it unrun releases what it owns.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// Jobs a drainer runs before yielding to other tasks.
const BATCH: usize = 32;

/// An opaque, reference-counted serial queue.
#[allow(non_camel_case_types)]
pub struct rt_queue {
    pub(crate) rt: Arc<Shared>,
    state: Mutex<QState>,
}

#[derive(Default)]
struct QState {
    items: VecDeque<Job>,
    scheduled: bool,
    closed: bool,
}

impl rt_queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses every later post and drops the jobs not yet started (each
    /// one's `drop_arg`, outside the lock): the drainer's end at shutdown.
    fn close(&self) {
        let items = {
            let mut s = self.lock();
            s.closed = true;
            s.scheduled = false;
            std::mem::take(&mut s.items)
        };
        drop(items);
    }

    /// Accepts the job built by `make` (called under the lock only once
    /// the queue is known to accept it), or refuses without calling it.
    pub(crate) fn post(self: &Arc<Self>, make: impl FnOnce() -> Job) -> Result<()> {
        let spawn = {
            let mut s = self.lock();
            if s.closed || self.rt.is_shut() {
                return Err(Error::shutdown());
            }
            s.items.push_back(make());
            !std::mem::replace(&mut s.scheduled, true)
        };
        if spawn {
            // Outside the lock: on a closed runtime the drainer is dropped
            // at once, and its destructor takes the lock.
            drop(self.rt.handle.spawn(Drainer {
                q: self.clone(),
                finished: false,
            }));
        }
        Ok(())
    }
}

/// The task that runs a queue's jobs one at a time.
struct Drainer {
    q: Arc<rt_queue>,
    finished: bool,
}

impl Future for Drainer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..BATCH {
            if self.q.rt.is_shut() {
                // Shutdown began while this drainer was running (a job
                // blocked it, or the batch outlasted it): what has not
                // started is cancelled, never run afterwards.
                self.finished = true;
                self.q.close();
                return Poll::Ready(());
            }
            let job = {
                let mut s = self.q.lock();
                match s.items.pop_front() {
                    Some(j) => j,
                    None => {
                        s.scheduled = false;
                        drop(s);
                        self.finished = true;
                        return Poll::Ready(());
                    }
                }
            };
            // No lock is held while the job calls into C.
            on_runtime_thread(job);
        }
        // Let other tasks run; we stay `scheduled`, so order is kept.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Drainer {
    fn drop(&mut self) {
        if !self.finished {
            self.q.close();
        }
    }
}

/// Completion signal for a job run on behalf of an awaiting task.
#[derive(Default)]
struct Signal {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Signal {
    fn set(&self) {
        let w = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 = true;
            s.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

struct SetOnDrop(Arc<Signal>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// Where a timer's or watch's callback runs.
#[derive(Clone)]
pub(crate) enum Target {
    /// Inline in the timer/watch task, on whichever worker polls it.
    Direct,
    /// As a job on a serial queue.
    Queue(Arc<rt_queue>),
}

impl Target {
    /// Runs `f(on)` on the target and waits until it ran (or was
    /// dropped). Returns `false` if the queue refused it (shutdown). Inline
    /// it borrows `on`; only a queue job takes a reference of its own.
    pub(crate) async fn run_on<T: Send + Sync + 'static>(
        &self,
        on: &Arc<T>,
        f: impl FnOnce(&T) + Send + 'static,
    ) -> bool {
        match self {
            // `f` marks its own call into C (`Slot::invoke`).
            Target::Direct => {
                f(on);
                true
            }
            Target::Queue(q) => {
                let on = on.clone();
                let sig = Arc::new(Signal::default());
                let guard = SetOnDrop(sig.clone());
                if q.post(move || {
                    Box::new(move || {
                        let _g = guard;
                        f(&on);
                    })
                })
                .is_err()
                {
                    return false;
                }
                std::future::poll_fn(|cx| {
                    let mut s = sig.state.lock().unwrap_or_else(|e| e.into_inner());
                    if s.0 {
                        Poll::Ready(())
                    } else {
                        s.1 = Some(cx.waker().clone());
                        Poll::Pending
                    }
                })
                .await;
                true
            }
        }
    }
}

/// A plain queue callback.
#[allow(non_camel_case_types)]
pub type rt_queue_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

/// Creates a serial queue on the runtime; `*out` holds one reference
/// (rt_queue_free).
///
/// Errors: RT_ERR_NULL (`rt`, `out`), RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_queue_new(rt: *mut rt_runtime, out: *mut *mut rt_queue) -> rt_status {
    error::status("rt_queue_new", || {
        // SAFETY: NULL or live per the contract.
        let rt = unsafe { non_null(rt, "rt") }?;
        if out.is_null() {
            return Err(Error::null("out"));
        }
        rt.shared.check_open()?;
        let q = Arc::new(rt_queue {
            rt: rt.shared.clone(),
            state: Mutex::new(QState::default()),
        });
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(Arc::into_raw(q).cast_mut()) };
        Ok(())
    })
}

/// Appends `cb(arg)` to the queue. It runs after everything posted to the
/// queue before it, never concurrently with anything else bound to the
/// queue, on some runtime worker; never inline in this call (even from
/// inside a callback of the same queue). `drop_arg` (may be NULL) is
/// called exactly once: after `cb` returned, or at shutdown if it never
/// ran.
///
/// Errors: RT_ERR_NULL (`q`, `cb`), RT_ERR_SHUTDOWN (then `arg` stays the
/// caller's and `drop_arg` is not called).
///
/// # Safety
/// `q` NULL or a live reference; `cb`/`drop_arg` callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn rt_queue_post(
    q: *mut rt_queue,
    cb: rt_queue_fn,
    arg: *mut c_void,
    drop_arg: rt_drop_fn,
) -> rt_status {
    error::status("rt_queue_post", || {
        if q.is_null() {
            return Err(Error::null("q"));
        }
        let cb = cb.ok_or_else(|| Error::null("cb"))?;
        // SAFETY: a live reference per the contract; we borrow it as an Arc
        // without consuming the caller's count.
        let q = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(q.cast_const()) });
        q.post(|| {
            let arg = Arg::owned_by(arg, drop_arg, &q.rt.live);
            Box::new(move || {
                // SAFETY: the contract: `cb(arg)` runs once on any thread.
                unsafe { cb(arg.get()) };
                drop(arg);
            })
        })
    })
}

/// Borrows a C queue pointer as an `Arc` clone.
///
/// # Safety
/// `q` NULL or a live reference.
pub(crate) unsafe fn clone_queue(q: *mut rt_queue) -> Result<Arc<rt_queue>> {
    // SAFETY: forwarded contract (only checks NULL).
    unsafe { non_null(q.cast_const(), "q") }?;
    // SAFETY: `q` came from Arc::into_raw and is live; we add a count.
    unsafe { Arc::increment_strong_count(q.cast_const()) };
    // SAFETY: the count added above is the one this Arc owns.
    Ok(unsafe { Arc::from_raw(q.cast_const()) })
}

/// Releases the caller's reference. Work already posted, and timers and
/// watches bound to the queue, keep running (they hold their own
/// references). NULL is ignored.
///
/// # Safety
/// `q` NULL or a live reference; that reference is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_queue_free(q: *mut rt_queue) {
    if q.is_null() {
        return;
    }
    // SAFETY: releases the reference the caller owned.
    let q = unsafe { Arc::from_raw(q.cast_const()) };
    error::quiet("rt_queue_free", move || drop(q));
}
