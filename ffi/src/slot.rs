//! The callback slot of a timer or fd watch: runs its C callback one call
//! at a time and makes `stop` synchronous.
//!
//! # State (under one mutex, except `stopped`)
//! - `stopped`: no new call may start. An atomic, so the watch and timer
//!   loops can look without the lock; it is only set, and only acted on by
//!   `invoke`/`stop`, with the lock held.
//! - `running`: the thread inside the callback right now, if any.
//! - `arg`: the callback's argument; its `drop_arg` runs when the slot is
//!   stopped and no call is running (by `stop`, or by the call that was
//!   running when `stop` came, before it clears `running`, so a waiting
//!   `stop` returns only after `drop_arg` ran).
//!
//! # Protocol
//! [`Slot::invoke`] starts a call only if not stopped, marking `running`;
//! the callback runs with the lock released. [`Slot::stop`] sets `stopped`
//! and, if another thread is inside the callback, waits on the condvar
//! until it returns; from inside the callback itself it returns at once
//! (the callback is the caller). Either way, once `stop` returns no call
//! of this slot will start again.
use crate::callback::{on_runtime_thread, thread_token, Arg};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

/// A stoppable callback argument.
pub(crate) struct Slot {
    state: Mutex<State>,
    cond: Condvar,
    /// Set once, with `state` locked.
    stopped: AtomicBool,
}

struct State {
    /// The [`thread_token`] of the thread inside the callback.
    running: Option<usize>,
    arg: Option<Arg>,
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
            state: Mutex::new(State {
                running: None,
                arg: Some(arg),
            }),
            cond: Condvar::new(),
            stopped: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f(arg)` unless stopped; no lock is held during the call.
    pub(crate) fn invoke(&self, f: impl FnOnce(*mut c_void)) -> Invoked {
        let ptr = {
            let mut s = self.lock();
            if self.is_stopped() {
                return Invoked::Stopped;
            }
            s.running = Some(thread_token());
            s.arg.as_ref().map_or(std::ptr::null_mut(), Arg::get)
        };
        on_runtime_thread(|| f(ptr));
        // If a stop came meanwhile, release the argument while still marked
        // `running`, so a waiting `stop` returns only after `drop_arg` ran.
        let (released, stopped) = {
            let mut s = self.lock();
            if self.is_stopped() {
                (s.arg.take(), true)
            } else {
                s.running = None;
                (None, false)
            }
        };
        // Only a `stop` waits on the condvar, and it sets `stopped` under the
        // lock before waiting: when we saw it unset, nobody can be waiting,
        // so the common path skips the notify (a futex syscall).
        if stopped {
            drop(released);
            self.lock().running = None;
            self.cond.notify_all();
        }
        Invoked::Ran
    }

    /// Whether the slot is stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stops the slot; see the module docs. Idempotent.
    pub(crate) fn stop(&self) {
        let me = thread_token();
        let released = {
            let mut s = self.lock();
            self.stopped.store(true, Ordering::Release);
            while s.running.is_some() && s.running != Some(me) {
                s = self.cond.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.running.is_none() {
                s.arg.take()
            } else {
                None // our own callback: `invoke` releases it on return
            }
        };
        drop(released);
    }
}
