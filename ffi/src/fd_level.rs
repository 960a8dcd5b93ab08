//! The task of a level-triggered fd watch (Linux, current-thread runtime,
//! callback inline; see `fd.rs` for when it is chosen).
//!
//! A hand-written future rather than an `async` loop: a ping-pong over a
//! socketpair runs one pass per message, and this keeps the pass to what
//! it must do.
//!
//! # One pass
//! 1. A stopped slot ends the task.
//! 2. A changed interest whose directions differ redoes the registration
//!    (`AsyncFd::into_registered_fd`, then the same dup level-triggered
//!    for the new directions); if that fails, the callback gets RT_ERROR
//!    once and the task ends.
//! 3. Each direction of interest is polled in its own waker slot of the
//!    registration (both slots hold this task's waker when both directions
//!    are wanted). Nothing ready: `Pending`.
//! 4. The readiness is cleared before the callback runs; if the fd is
//!    still ready afterwards, the next reactor turn reports it again.
//!    Hangup and error bits stay reported once set (they cannot be
//!    cleared), so after such a pass the task yields before the next one.
//!
//! # Inline events
//! The registration also carries an event hook (`AsyncFd::set_event_hook`,
//! installed by [`install_hook`]): the reactor hands each event to it on
//! the thread turning the runtime, and in the common case (the watch is
//! running, its interest unchanged, no hangup or error) the hook runs the
//! callback right there and consumes the event, as libuv's loop calls a
//! `uv_poll` callback: no task wake-up, no scheduling, no poll of the
//! registration. Any other event falls through to the task, which handles
//! it as described above. A ping-pong over a socketpair runs one hook call
//! per message (benches `c_socketpair_pingpong`).
//!
//! # Invariants
//! - `afd` is `Some` except during step 2's re-registration; every
//!   registration `afd` holds carries a hook built for its directions.
//! - The callback only runs through the slot, inside this task's poll or
//!   the hook, both on the one thread that turns the current-thread
//!   runtime (a C callback cannot turn it: rt_runtime_run from a callback
//!   fails): one call at a time, and never after the slot stopped.
use crate::fd::DIRECTIONS;
use crate::fd::{reported, sticky, to_interest, CallerFd, Ctl, Registered, StopOnDrop, WatchFn};
use crate::fd::{RT_ERROR, RT_READABLE, RT_WRITABLE};
use runtime_core::io::EventHook;
use runtime_core::io::{AsyncFd, AsyncFdReadyGuard, Ready};
use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The watch task's future (see the module docs).
pub(crate) struct LevelWatch {
    ctl: Arc<Ctl>,
    afd: Option<Registered>,
    /// The RT_READABLE / RT_WRITABLE bits `afd` is registered for.
    registered: u32,
    cb: WatchFn,
    /// Stops the slot when the task ends, however it ends.
    _stop: StopOnDrop,
}

/// What one look at the registration found.
enum Look {
    /// These RT_* bits are ready; `calm` is false after a hangup or error.
    Ready { bits: u32, calm: bool },
    /// Reported readiness that our interest does not cover (cleared).
    Nothing { calm: bool },
    /// The registration failed (reactor gone).
    Broken,
}

impl LevelWatch {
    pub(crate) fn new(
        ctl: Arc<Ctl>,
        afd: Registered,
        registered: u32,
        cb: WatchFn,
        stop: StopOnDrop,
    ) -> LevelWatch {
        install_hook(&afd, &ctl, cb, registered);
        LevelWatch {
            ctl,
            afd: Some(afd),
            registered,
            cb,
            _stop: stop,
        }
    }

    fn call(&self, ready: u32) {
        call(&self.ctl, self.cb, ready);
    }

    /// Step 2: follows an interest change; `false` ends the task.
    fn follow_interest(&mut self) -> bool {
        let new = self.ctl.interest.load(Ordering::SeqCst);
        if new & DIRECTIONS == self.registered {
            return true;
        }
        let afd = self
            .afd
            .take()
            .expect("registration present between passes");
        // The same dup, deregistered, is registered again: no new
        // descriptor is needed.
        let (caller, dup) = afd.into_registered_fd();
        match AsyncFd::level_triggered_with_registered_fd(caller, dup, to_interest(new)) {
            Ok(a) => {
                install_hook(&a, &self.ctl, self.cb, new & DIRECTIONS);
                self.afd = Some(a);
                self.registered = new & DIRECTIONS;
                true
            }
            // The dup is closed (reactor gone); report once and end the
            // watch.
            Err(_) => {
                self.call(RT_ERROR);
                false
            }
        }
    }

    /// Step 3: polls each wanted direction, clearing what it reports.
    fn look(&self, cx: &mut Context<'_>, interest: u32) -> Poll<Look> {
        let afd = self
            .afd
            .as_ref()
            .expect("registration present between passes");
        let mut seen = None;
        if interest & RT_READABLE != 0 && take(afd.poll_read_ready(cx), &mut seen).is_err() {
            return Poll::Ready(Look::Broken);
        }
        if interest & RT_WRITABLE != 0 && take(afd.poll_write_ready(cx), &mut seen).is_err() {
            return Poll::Ready(Look::Broken);
        }
        let Some(seen) = seen else {
            return Poll::Pending;
        };
        let calm = !sticky(seen);
        Poll::Ready(
            match reported(seen, afd.registered_fd().as_raw_fd(), interest) {
                0 => Look::Nothing { calm },
                bits => Look::Ready { bits, calm },
            },
        )
    }

    /// Yields the worker once: the task is woken again after other ready
    /// tasks ran and the driver was polled.
    fn yield_once(cx: &mut Context<'_>) -> Poll<()> {
        // A fresh `yield_now` defers our waker and returns `Pending` on its
        // first poll; dropping it afterwards keeps the deferred wake.
        let _ = pin!(runtime_core::task::yield_now()).poll(cx);
        Poll::Pending
    }
}

/// Runs the callback through the slot (nothing if it stopped).
fn call(ctl: &Ctl, cb: WatchFn, ready: u32) {
    let fd = ctl.fd;
    // SAFETY: the rt_fd_watch contract: `cb(arg, fd, ready)` may run on
    // any runtime thread until stopped.
    let _ = ctl.slot.invoke(|a| unsafe { cb(a, fd, ready) });
}

/// Gives `afd` (registered for the RT_* `registered` directions) the hook
/// that runs the callback from the reactor (see "Inline events").
fn install_hook(afd: &Registered, ctl: &Arc<Ctl>, cb: WatchFn, registered: u32) {
    let ctl = ctl.clone();
    let hook: Box<EventHook> = Box::new(move |ready| inline_event(&ctl, cb, registered, ready));
    // A fresh registration has no hook yet.
    let _ = afd.set_event_hook(hook);
}

/// The hook: runs the callback for `ready` and consumes the event when
/// the task would do just that; otherwise leaves the event to the task
/// (stopped slot, pending interest change, hangup or error, readiness
/// outside the interest).
fn inline_event(ctl: &Ctl, cb: WatchFn, registered: u32, ready: Ready) -> bool {
    if sticky(ready) || ctl.slot.is_stopped() || ctl.change_pending() {
        return false;
    }
    let interest = ctl.interest.load(Ordering::SeqCst);
    if interest & DIRECTIONS != registered {
        return false;
    }
    match reported(ready, ctl.fd, interest) {
        0 => false,
        bits => {
            // Progress for rt_runtime_run_once, which counts task polls.
            let n = &ctl.rt().inline_calls;
            n.store(n.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
            call(ctl, cb, bits);
            true
        }
    }
}

/// Adds what one direction's poll reported to `seen` and clears it there;
/// `Err` if the registration failed.
fn take(
    poll: Poll<std::io::Result<AsyncFdReadyGuard<'_, CallerFd>>>,
    seen: &mut Option<Ready>,
) -> Result<(), ()> {
    match poll {
        Poll::Ready(Ok(mut g)) => {
            *seen = Some(seen.unwrap_or(Ready::EMPTY) | g.ready());
            g.clear_ready();
            Ok(())
        }
        Poll::Ready(Err(_)) => Err(()),
        Poll::Pending => Ok(()),
    }
}

impl Future for LevelWatch {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            if this.ctl.slot.is_stopped() {
                return Poll::Ready(());
            }
            if this.ctl.poll_changed(cx) {
                if !this.follow_interest() {
                    return Poll::Ready(());
                }
                continue;
            }
            let interest = this.ctl.interest.load(Ordering::SeqCst);
            match this.look(cx, interest) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Look::Broken) => {
                    this.call(RT_ERROR);
                    return Poll::Ready(());
                }
                Poll::Ready(Look::Nothing { calm: true }) => {}
                Poll::Ready(Look::Nothing { calm: false }) => return LevelWatch::yield_once(cx),
                Poll::Ready(Look::Ready { bits, calm }) => {
                    this.call(bits);
                    if !calm {
                        return LevelWatch::yield_once(cx);
                    }
                }
            }
        }
    }
}
