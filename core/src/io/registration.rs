//! [`Registration`]: a resource's link to the reactor, and the readiness
//! loops every I/O type is built from.
//!
//! Invariants:
//! - A `Registration` owns one live entry of the reactor's registration set
//!   and releases it on drop (or earlier through
//!   [`Registration::deregister`], which removes it from the poll first and
//!   so lets its memory go at the driver's next turn; a drop without that
//!   keeps the entry's memory, and nothing else, until the driver goes).
//! - Every I/O operation follows the edge-triggered protocol: wait for
//!   readiness, try the syscall, and on `WouldBlock` clear exactly the
//!   readiness that was observed (tick-checked, see `scheduled_io`) and wait
//!   again. An operation is never retried without fresh readiness. (A
//!   level-triggered registration, [`Registration::new_level`], serves
//!   `AsyncFd` users that clear before acting; the reactor then reports the
//!   fd again on every turn while it stays ready.)
use crate::io::driver::Handle;
use crate::io::registration_set::PollEntry;
use crate::io::scheduled_io::{Direction, ReadyEvent, ScheduledIo};
use crate::io::{Interest, Ready};
use crate::loom::sync::Arc;
use crate::task::coop;
use std::io;
use std::task::{ready, Context, Poll};

/// A resource registered with the reactor.
#[derive(Debug)]
pub(crate) struct Registration {
    handle: Handle,
    shared: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `io` with the current runtime's reactor.
    pub(crate) fn new(io: &mut impl mio::event::Source, interest: Interest) -> io::Result<Self> {
        let handle = crate::io::context::current()?;
        Self::new_with_handle(io, interest, handle)
    }

    /// Registers `io` with `handle`'s reactor.
    pub(crate) fn new_with_handle(
        io: &mut impl mio::event::Source,
        interest: Interest,
        handle: Handle,
    ) -> io::Result<Self> {
        let shared = handle.register(io, interest)?;
        Ok(Registration { handle, shared })
    }

    /// Registers the raw `fd` level-triggered with the current runtime's
    /// reactor (see `io::level`).
    pub(crate) fn new_level(fd: std::os::unix::io::RawFd, interest: Interest) -> io::Result<Self> {
        let handle = crate::io::context::current()?;
        let shared = handle.register_level(fd, interest)?;
        Ok(Registration { handle, shared })
    }

    /// Removes `io` from the reactor and releases the entry now.
    pub(crate) fn deregister(&self, io: &mut impl mio::event::Source) -> io::Result<()> {
        self.handle.deregister(io, &self.shared)
    }

    /// See `AsyncFd::set_event_hook`.
    pub(crate) fn set_event_hook(
        &self,
        hook: Box<crate::io::EventHook>,
    ) -> Result<(), Box<crate::io::EventHook>> {
        self.shared.set_hook(hook)
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(cx, Direction::Read)
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(cx, Direction::Write)
    }

    /// Waits for `direction`, charging one unit of cooperative budget when
    /// readiness is returned.
    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let coop = ready!(coop::poll_proceed(cx));
        let ev = ready!(self.shared.poll_readiness(cx, direction));
        coop.made_progress();
        Poll::Ready(ev)
    }

    /// Forgets the observed readiness (after `WouldBlock`).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let _ = self.shared.clear_readiness(event);
    }

    /// The edge-triggered loop for one poll-style operation.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = ready!(self.poll_ready(cx, direction))?;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    pub(crate) fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, f)
    }

    pub(crate) fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, f)
    }

    /// Current readiness for `interest` without waiting.
    pub(crate) fn current_ready(&self, interest: Interest) -> ReadyEvent {
        self.shared.ready_event(Ready::from_interest(interest))
    }

    /// Whether urgent data was reported (`PRIORITY`) and not cleared since.
    pub(crate) fn priority_pending(&self) -> bool {
        self.shared.ready_event(Ready::PRIORITY).ready.is_priority()
    }

    /// Tries `f` once if `interest` is ready; `WouldBlock` otherwise (and
    /// when `f` would block, after clearing the readiness it consumed).
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let ev = self.current_ready(interest);
        if ev.is_shutdown {
            return Err(io::Error::other(
                "the runtime's I/O driver is shutting down",
            ));
        }
        if ev.ready.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match f() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(ev);
                Err(e)
            }
            res => res,
        }
    }

    /// Waits until any bit of `interest` is ready (any number of tasks may
    /// wait concurrently).
    pub(crate) async fn readiness(&self, interest: Interest) -> io::Result<ReadyEvent> {
        self.shared.readiness(interest).await
    }

    /// Waits for `interest` and runs `f` until it does not block; each
    /// completed attempt costs one unit of cooperative budget.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let ev = self.readiness(interest).await?;
            // Charge the budget once readiness is there, so a resource
            // that is always ready still yields to other tasks.
            let coop = std::future::poll_fn(coop::poll_proceed).await;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => {
                    coop.made_progress();
                    return res;
                }
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // A no-op after `deregister`; otherwise nobody removed the source
        // from the poll, which may still report it.
        self.handle.release(&self.shared, PollEntry::MaybeLive);
    }
}
