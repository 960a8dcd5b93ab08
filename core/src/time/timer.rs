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

/// `TimerEntry::shard` of an entry never registered (`shard_hint` never
/// returns it).
const NO_SHARD: u32 = u32::MAX;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct TimerEntry {
    handle: RtHandle,
    deadline: Instant,
    registered: bool,
    /// The wheel shard it is filed in: the `shard_hint` of the thread that
    /// first registers it (`NO_SHARD` until then), fixed from then on. Not
    /// the creating thread's: a timer built on one thread and first polled
    /// on a worker (an FFI timer started from a C thread) is filed in the
    /// worker's shard, so timers started in bulk from one thread still
    /// spread over the shards.
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
            shard: NO_SHARD,
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
            if this.shard == NO_SHARD {
                // Never filed (a filed entry has its shard): nothing is
                // linked anywhere yet, so the shard can still be chosen.
                this.shard = super::driver::shard_hint();
            }
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
            debug_assert_ne!(self.shard, NO_SHARD, "a filed entry has its shard");
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::Builder;
    use std::future::poll_fn;

    /// An entry built on one thread and first polled on another is filed
    /// in the shard of the thread that polled it (as the driver's design
    /// says), not of the one that built it.
    #[test]
    fn the_shard_is_the_first_registering_threads() {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let entry = {
            let _enter = rt.enter();
            TimerEntry::new(
                super::super::context::current_or_panic(),
                Instant::now() + std::time::Duration::from_secs(3600),
            )
        };
        assert_eq!(entry.shard, NO_SHARD);
        let creator = super::super::driver::shard_hint();
        let (filed, poller) = rt
            .block_on(rt.spawn(async move {
                let mut entry = Box::pin(entry);
                let pending =
                    poll_fn(|cx| Poll::Ready(entry.as_mut().poll_elapsed(cx).is_pending())).await;
                assert!(pending);
                (entry.shard, super::super::driver::shard_hint())
            }))
            .unwrap();
        assert_eq!(filed, poller);
        assert_ne!(filed, creator);
    }
}
