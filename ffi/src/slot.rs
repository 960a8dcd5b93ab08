//! The callback slot of a timer or fd watch: runs its C callback one call
//! at a time and makes `stop` synchronous.
//!
//! # State
//! One atomic word, `state`:
//! - `RUNNING`: a call is in progress. Set and cleared only by
//!   [`Slot::invoke`]; its owner (the timer or watch task, or the job it
//!   posted and awaits) never overlaps two calls, so it is never contended.
//! - `STOPPED`: no new call may start. Set once, by [`Slot::stop`].
//! - `RELEASING`: a `stop` that found no call running is releasing the
//!   argument (running `drop_arg`). Set with `STOPPED`, cleared after.
//! - `WAITING`: a `stop` on another thread is waiting (on `cond`, under
//!   `lock`) for `RUNNING` and `RELEASING` to clear.
//!
//! `runner` / `releaser` are the [`thread_token`]s of the thread inside the
//! callback / inside `drop_arg`; each is written before its bit is visible
//! to other threads' `stop`s (or is only compared by its own thread), and
//! read only by a `stop` that saw that bit. `ptr` is the argument's
//! pointer, fixed at creation. `arg` (the owner of `drop_arg`) is taken
//! exactly once: by `invoke` if `STOPPED` came during its call, otherwise
//! by the `stop` that set `STOPPED`.
//!
//! # Protocol
//! `invoke` moves `0 → RUNNING` (failing if `STOPPED`), calls, then moves
//! `RUNNING → 0`. If that fails, `STOPPED` came during the call: it
//! releases the argument while still `RUNNING`, then clears `RUNNING` and,
//! if `WAITING`, notifies under the lock. `stop` sets `STOPPED`; if nothing
//! was running it also sets `RELEASING`, releases the argument, clears
//! `RELEASING` and notifies waiters the same way. Any other `stop` (a call
//! or a release in progress) waits, under the lock, until `RUNNING` and
//! `RELEASING` clear, so when it returns `drop_arg` has run, unless the
//! call or the release in progress is on its own thread (a callback or
//! `drop_arg` stopping its own slot): then it returns at once, and the
//! argument is released when that callback returns. Either way, once
//! `stop` returns no call of this slot will start again.
//! [`Slot::stop_nowait`] (the owning task's own stop when it ends) never
//! waits: whatever is in progress releases the argument when it ends.
//!
//! The common path (a call with no stop anywhere near) costs two
//! uncontended compare-exchanges and takes no lock.
use crate::callback::{on_runtime_thread_as, thread_token, Arg, SendPtr};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

const RUNNING: usize = 1;
const STOPPED: usize = 2;
const WAITING: usize = 4;
const RELEASING: usize = 8;

/// A stoppable callback argument.
pub(crate) struct Slot {
    state: AtomicUsize,
    /// The thread token of the thread inside the callback (see the module
    /// docs).
    runner: AtomicUsize,
    /// The thread token of the `stop` releasing the argument.
    releaser: AtomicUsize,
    /// The argument's pointer, passed to every call.
    ptr: SendPtr,
    /// The argument's owner; taken (and its `drop_arg` run) exactly once.
    arg: Mutex<Option<Arg>>,
    /// What a waiting `stop` sleeps on; the lock also orders its check of
    /// `RUNNING` against the notification.
    lock: Mutex<()>,
    cond: Condvar,
}

/// Whether a stop waits for a call or release in progress on another
/// thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A user's stop: returns only once nothing runs (see the module docs).
    ForOthers,
    /// The owning task's own stop (see [`Slot::stop_nowait`]).
    No,
}

/// What [`Slot::invoke`] did.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invoked {
    /// The callback ran (and the slot may still be live).
    Ran,
    /// The slot is stopped; nothing ran.
    Stopped,
}

impl Slot {
    pub(crate) fn new(arg: Arg) -> Slot {
        Slot {
            state: AtomicUsize::new(0),
            runner: AtomicUsize::new(0),
            releaser: AtomicUsize::new(0),
            ptr: SendPtr(arg.get()),
            arg: Mutex::new(Some(arg)),
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    /// Takes and drops the argument (running `drop_arg`) if still held.
    fn release(&self) {
        let arg = self.arg.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(arg);
    }

    /// Calls `f(arg)` unless stopped. The caller never overlaps two calls
    /// of one slot (see the module docs).
    pub(crate) fn invoke(&self, f: impl FnOnce(*mut c_void)) -> Invoked {
        let ptr = self.ptr.0;
        on_runtime_thread_as(|me| {
            self.runner.store(me, Ordering::Relaxed);
            // Release: publishes `runner` to a `stop` that sees RUNNING.
            // Acquire: a stop's release of the argument is not in play
            // here (the exchange fails when STOPPED), but it orders this
            // call after the slot's creation on another thread.
            if let Err(s) =
                self.state
                    .compare_exchange(0, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            {
                debug_assert_eq!(s & RUNNING, 0, "overlapping calls of one slot");
                return Invoked::Stopped;
            }
            f(ptr);
            if self
                .state
                .compare_exchange(RUNNING, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // A stop came during the call: release the argument while
                // still RUNNING, so a waiting stop returns only after
                // `drop_arg` ran.
                self.release();
                self.clear(RUNNING);
            }
            Invoked::Ran
        })
    }

    /// Whether the slot is stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.state.load(Ordering::Acquire) & STOPPED != 0
    }

    /// Clears `bit` (`RUNNING` or `RELEASING`, after the argument was
    /// released) and wakes waiting `stop`s.
    fn clear(&self, bit: usize) {
        let prev = self.state.fetch_and(!bit, Ordering::AcqRel);
        if prev & WAITING != 0 {
            // Taking the lock orders this after a waiter's check of the
            // state: it is either asleep on the condvar or sees the bit
            // cleared.
            drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            self.cond.notify_all();
        }
    }

    /// Stops the slot; see the module docs. Idempotent.
    pub(crate) fn stop(&self) {
        self.stop_with(Wait::ForOthers);
    }

    /// As [`Slot::stop`], but returns at once when a call or a release is
    /// in progress on another thread (it then releases the argument when
    /// it ends). For the timer's or watch's own task when it ends: nobody
    /// waits for that stop, and a runtime worker must not block on C code
    /// running elsewhere (a `drop_arg` that waits for the runtime would
    /// never return).
    pub(crate) fn stop_nowait(&self) {
        self.stop_with(Wait::No);
    }

    /// [`Slot::stop`] or [`Slot::stop_nowait`], as `wait` says.
    pub(crate) fn stop_with(&self, wait: Wait) {
        let me = thread_token();
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let busy = s & (RUNNING | RELEASING) != 0;
            if s & STOPPED != 0 && !busy {
                return; // stopped, and the argument already released
            }
            // First stop with nothing running: it releases the argument.
            let releases = s & STOPPED == 0 && !busy;
            let new = if releases {
                s | STOPPED | RELEASING
            } else {
                s | STOPPED
            };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if releases => {
                    // Only our own thread compares with this before we
                    // clear RELEASING (others find a token that is not
                    // theirs, stale or not, and wait).
                    self.releaser.store(me, Ordering::Relaxed);
                    self.release();
                    self.clear(RELEASING);
                    return;
                }
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        // A call or a release is in progress.
        let own = (s & RUNNING != 0 && self.runner.load(Ordering::Relaxed) == me)
            || (s & RELEASING != 0 && self.releaser.load(Ordering::Relaxed) == me);
        if own || wait == Wait::No {
            return; // the call or release in progress releases it
        }
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.state.fetch_or(WAITING, Ordering::AcqRel);
        while self.state.load(Ordering::Acquire) & (RUNNING | RELEASING) != 0 {
            g = self.cond.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    static DROPS: AtomicU32 = AtomicU32::new(0);
    unsafe extern "C" fn count_drop(_: *mut c_void) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn stop_from_another_thread_waits_for_the_running_call() {
        let slot = Arc::new(Slot::new(Arg::new(std::ptr::null_mut(), None)));
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let returned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = slot.clone();
        let r2 = returned.clone();
        let t = std::thread::spawn(move || {
            let r = s2.invoke(|_| {
                entered_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(20));
                r2.store(true, Ordering::SeqCst);
            });
            assert_eq!(r, Invoked::Ran);
        });
        entered_rx.recv().unwrap();
        go_tx.send(()).unwrap();
        slot.stop();
        assert!(
            returned.load(Ordering::SeqCst),
            "stop returned during the call"
        );
        assert_eq!(slot.invoke(|_| panic!("ran after stop")), Invoked::Stopped);
        t.join().unwrap();
    }

    #[test]
    fn stop_from_inside_the_callback_returns_and_releases_after_it() {
        DROPS.store(0, Ordering::SeqCst);
        let slot = Slot::new(Arg::new(std::ptr::null_mut(), Some(count_drop)));
        let r = slot.invoke(|_| {
            slot.stop();
            assert_eq!(DROPS.load(Ordering::SeqCst), 0, "released inside the call");
        });
        assert_eq!(r, Invoked::Ran);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        slot.stop();
        drop(slot);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1, "released twice");
    }

    #[test]
    fn racing_stops_and_calls_release_exactly_once() {
        for _ in 0..200 {
            let drops = Arc::new(AtomicU32::new(0));
            let d2 = drops.clone();
            // A drop_arg that counts through the pointer itself.
            unsafe extern "C" fn count(p: *mut c_void) {
                // SAFETY: `p` is the Arc's counter, alive for the test.
                unsafe { &*(p as *const AtomicU32) }.fetch_add(1, Ordering::SeqCst);
            }
            let p = Arc::as_ptr(&d2) as *mut c_void;
            let slot = Arc::new(Slot::new(Arg::new(p, Some(count))));
            let s1 = slot.clone();
            let caller = std::thread::spawn(move || {
                let mut after_stop = 0;
                for _ in 0..50 {
                    if s1.invoke(|_| {}) == Invoked::Stopped {
                        after_stop += 1;
                    }
                }
                after_stop
            });
            let stoppers: Vec<_> = (0..2)
                .map(|_| {
                    let s = slot.clone();
                    std::thread::spawn(move || s.stop())
                })
                .collect();
            for s in stoppers {
                s.join().unwrap();
            }
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "released before stop returned"
            );
            assert_eq!(slot.invoke(|_| panic!("ran after stop")), Invoked::Stopped);
            caller.join().unwrap();
            drop(slot);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            drop(d2);
        }
    }

    #[test]
    fn a_second_stop_waits_for_the_first_stops_release() {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        static DONE: AtomicU32 = AtomicU32::new(0);
        unsafe extern "C" fn slow_drop(_: *mut c_void) {
            STARTED.store(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            DONE.store(1, Ordering::SeqCst);
        }
        let slot = Arc::new(Slot::new(Arg::new(std::ptr::null_mut(), Some(slow_drop))));
        let s2 = slot.clone();
        let first = std::thread::spawn(move || s2.stop());
        while STARTED.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        slot.stop();
        assert_eq!(
            DONE.load(Ordering::SeqCst),
            1,
            "returned while drop_arg ran"
        );
        first.join().unwrap();
    }

    #[test]
    fn drop_arg_may_stop_its_own_slot() {
        static SLOT: std::sync::OnceLock<Arc<Slot>> = std::sync::OnceLock::new();
        static DROPPED: AtomicU32 = AtomicU32::new(0);
        unsafe extern "C" fn stop_self(_: *mut c_void) {
            SLOT.get().unwrap().stop();
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
        let slot = SLOT
            .get_or_init(|| Arc::new(Slot::new(Arg::new(std::ptr::null_mut(), Some(stop_self)))));
        slot.stop();
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1);
        slot.stop();
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1);
    }
}
