//! [`TimerEntry`]: the owner's half of a timer (the runtime it belongs to,
//! its deadline, and the embedded [`TimerShared`] the wheel links), and the
//! registration logic `Sleep` builds on.
//!
//! # Design
//! The entry is created unregistered (no lock, no wheel access): only the
//! first poll files it in the wheel, so a `timeout` whose future is ready at
//! once never touches the wheel. `registered` records whether the owner
//! asked for the current `deadline` to be filed; `reset` to a later deadline
//! of a filed entry is lock-free (see `entry.rs`).
//!
//! Dropping: if the shared state is terminal (never filed, fired,
//! cancelled) the driver no longer touches the entry and it is freed
//! without the lock; otherwise it is unlinked under the lock first.
use super::context::RtHandle;
use super::driver::Registered;
use super::entry::{is_terminal, Fired, TimerShared};
use super::error::Error;
use super::Instant;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct TimerEntry {
    handle: RtHandle,
    deadline: Instant,
    registered: bool,
    /// The wheel shard it is filed in (fixed at creation).
    shard: u32,
    /// Linked into the wheel by address: never moved once registered
    /// (`TimerEntry` is `!Unpin` through it).
    shared: TimerShared,
}

impl TimerEntry {
    /// An unregistered timer for `deadline` on the runtime `handle`.
    pub(crate) fn new(handle: RtHandle, deadline: Instant) -> TimerEntry {
        TimerEntry {
            handle,
            deadline,
            registered: false,
            shard: super::driver::shard_hint(),
            shared: TimerShared::new(),
        }
    }

    /// The deadline it was last set to.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether it is registered for its current deadline and has fired.
    pub(crate) fn is_elapsed(&self) -> bool {
        self.registered && self.shared.fired().is_some()
    }

    /// The runtime it belongs to.
    pub(crate) fn handle(&self) -> &RtHandle {
        &self.handle
    }

    /// Sets a new deadline; files it in the wheel now if `reregister`,
    /// otherwise at the next poll (unless it can be postponed lock-free).
    pub(crate) fn reset(self: Pin<&mut Self>, deadline: Instant, reregister: bool) {
        // SAFETY: nothing is moved out of `this`; `shared` stays in place.
        let this = unsafe { self.get_unchecked_mut() };
        this.deadline = deadline;
        this.registered = reregister;
        let driver = this.handle.driver();
        let tick = driver
            .time
            .time_source()
            .deadline_to_tick(deadline.into_std());
        if this.shared.extend_expiration(tick).is_ok() {
            return;
        }
        if reregister {
            // SAFETY: `shared` is pinned inside `self` (we were given
            // `Pin<&mut Self>`), we have the owner's exclusive access, and
            // `Drop` unlinks it before it is freed.
            let r = unsafe {
                driver
                    .time
                    .reregister(driver, this.shard, tick, NonNull::from(&this.shared))
            };
            if let Registered::Fired(Some(waker)) = r {
                waker.wake();
            }
        }
    }

    /// Registers (on first poll) and reports whether the deadline passed.
    pub(crate) fn poll_elapsed(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>> {
        if self.handle.driver().time.is_shutdown() {
            panic!("{}", super::SHUTDOWN_MSG);
        }
        if !self.registered {
            let deadline = self.deadline;
            self.as_mut().reset(deadline, true);
        }
        match self.shared.poll(cx.waker()) {
            Poll::Ready(Fired::Elapsed) => Poll::Ready(Ok(())),
            Poll::Ready(Fired::Shutdown) => Poll::Ready(Err(Error::shutdown())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        if !is_terminal(self.shared.state()) {
            // SAFETY: `shared` is live (we are dropping it after this) and
            // `&mut self` is the owner's exclusive access.
            unsafe {
                self.handle
                    .driver()
                    .time
                    .clear_entry(self.shard, NonNull::from(&self.shared))
            };
        }
    }
}
