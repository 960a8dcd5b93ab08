//! The callback slot of a timer or fd watch: runs its C callback one call
//! at a time and makes `stop` synchronous.
//!
//! # State
//! One atomic word, `state`:
//! - `RUNNING`: a call is in progress. Set and cleared only by
//!   [`Slot::invoke`]; its owner (the timer or watch task, or the job it
//!   posted and awaits) never overlaps two calls, so it is never contended.
//! - `STOPPED`: no new call may start. Set once, by [`Slot::stop`].
//! - `WAITING`: a `stop` on another thread is waiting (on `cond`, under
//!   `lock`) for the running call to return.
//!
//! `runner` is the [`thread_token`](crate::callback::thread_token) of the
//! thread inside the callback; it is written before `RUNNING` is set and
//! read only by a `stop` that saw `RUNNING`. `ptr` is the argument's
//! pointer, fixed at creation. `arg` (the owner of `drop_arg`) is taken
//! exactly once: by whichever of `stop` and `invoke` sees `STOPPED` and
//! `RUNNING` meet.
//!
//! # Protocol
//! `invoke` moves `0 → RUNNING` (failing if `STOPPED`), calls, then moves
//! `RUNNING → 0`. If that fails, `STOPPED` came during the call: it
//! releases the argument while still `RUNNING`, then clears `RUNNING` and,
//! if `WAITING`, notifies under the lock. `stop` sets `STOPPED`; if no call
//! was running it releases the argument itself; if a call runs on another
//! thread it sets `WAITING` and waits, under the lock, until `RUNNING`
//! clears (so `drop_arg` has run when it returns); from inside the
//! callback itself it returns at once (the callback is the caller, and its
//! `invoke` releases the argument on return). Either way, once `stop`
//! returns no call of this slot will start again.
//!
//! The common path (a call with no stop anywhere near) costs two
//! uncontended compare-exchanges and takes no lock.
use crate::callback::{on_runtime_thread_as, Arg, SendPtr};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

const RUNNING: usize = 1;
const STOPPED: usize = 2;
const WAITING: usize = 4;

/// A stoppable callback argument.
pub(crate) struct Slot {
    state: AtomicUsize,
    /// The thread token of the thread inside the callback (see the module
    /// docs).
    runner: AtomicUsize,
    /// The argument's pointer, passed to every call.
    ptr: SendPtr,
    /// The argument's owner; taken (and its `drop_arg` run) exactly once.
    arg: Mutex<Option<Arg>>,
    /// What a waiting `stop` sleeps on; the lock also orders its check of
    /// `RUNNING` against the notification.
    lock: Mutex<()>,
    cond: Condvar,
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
                let prev = self.state.fetch_and(!RUNNING, Ordering::AcqRel);
                if prev & WAITING != 0 {
                    drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
                    self.cond.notify_all();
                }
            }
            Invoked::Ran
        })
    }

    /// Whether the slot is stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.state.load(Ordering::Acquire) & STOPPED != 0
    }

    /// Stops the slot; see the module docs. Idempotent.
    pub(crate) fn stop(&self) {
        let prev = self.state.fetch_or(STOPPED, Ordering::AcqRel);
        if prev & RUNNING == 0 {
            // No call in progress, and none can start now.
            self.release();
            return;
        }
        if self.runner.load(Ordering::Relaxed) == crate::callback::thread_token() {
            return; // our own callback: `invoke` releases it on return
        }
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.state.fetch_or(WAITING, Ordering::AcqRel);
        while self.state.load(Ordering::Acquire) & RUNNING != 0 {
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
}
