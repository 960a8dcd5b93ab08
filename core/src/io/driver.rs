//! The I/O driver (reactor): one `mio::Poll` shared by the whole runtime.
//!
//! # Design
//!
//! - [`Driver`] owns the `mio::Poll` and its event buffer. Exactly one thread
//!   holds it at a time (the parked worker that drives, or a current-thread
//!   `block_on`), and only that thread calls [`Driver::park_timeout`], which
//!   blocks in `epoll_wait` with the timer deadline as timeout.
//! - [`Handle`] (cloneable, any thread) owns a clone of the `mio::Registry`,
//!   the `mio::Waker` used to interrupt the poll, and the
//!   [`RegistrationSet`] (a mutex-protected slab of [`ScheduledIo`]).
//!   Registering and deregistering only touch the registry and the slab.
//! - Dispatch: after `poll` returns, the driver looks all event tokens up in
//!   the slab under one lock acquisition (ignoring stale generations), drops
//!   the lock, then stores readiness and wakes each entry's waiters (or
//!   hands the event to the entry's event hook, see [`ScheduledIo`]). No
//!   waker or hook is ever invoked while a driver lock is held.
//!
//! # Unpark protocol
//!
//! `unpark` sets `did_wake` (for the paused clock) and then, only if no wake
//! is already in flight (`wake_pending` was false), writes the eventfd. The
//! driver swaps `wake_pending` back to false when it sees the wake token.
//! An unpark that found a wake in flight happened before the driver consumed
//! it, i.e. before the current park returns, so the parker observes its
//! effects after returning; an unpark after the swap writes the eventfd
//! again and makes the next park return at once. Nothing is lost.
//!
//! # Shutdown protocol
//!
//! [`Driver::shutdown`] marks the slab shut down (new registrations fail
//! with an `io::Error`), then sets `SHUTDOWN` on every live entry and wakes
//! all its waiters; their futures resolve to an `io::Error` instead of
//! hanging. Entries stay in the slab until their owners drop them. Dropping
//! the `Driver` runs the same shutdown, so a waiter can never outlive the
//! poll that would have woken it.
//!
//! # SIGPIPE
//!
//! The driver does not touch the process's signal disposition (the runtime
//! may be embedded in a C or Python host). Instead every socket write the
//! runtime performs uses `send`/`sendmsg` with `MSG_NOSIGNAL`, so writing to
//! a closed peer yields `EPIPE` (`BrokenPipe`), never a signal. Raw `write`s
//! a user performs on an [`AsyncFd`](crate::io::AsyncFd) are their own.
use crate::io::registration_set::{RegistrationSet, Removed};
use crate::io::scheduled_io::ScheduledIo;
use crate::io::{Interest, Ready};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex};
use std::fmt;
use std::io;
use std::time::Duration;

/// The token reserved for the `mio::Waker`; registration tokens never have
/// their top bit set, so they cannot collide with it.
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Events fetched per `epoll_wait` when no hint is given.
const DEFAULT_EVENTS: usize = 1024;

/// Owns the blocking part of the driver; held by exactly one parked worker.
pub(crate) struct Driver {
    /// The shared state, so dropping the driver can shut registrations down.
    inner: Arc<Inner>,
    poll: mio::Poll,
    events: mio::Events,
    /// Scratch buffer reused across turns (no allocation per turn).
    dispatch: Vec<(Arc<ScheduledIo>, Ready)>,
}

/// Shared, cloneable access to the reactor from any thread.
#[derive(Clone)]
pub(crate) struct Handle {
    inner: Arc<Inner>,
}

struct Inner {
    registry: mio::Registry,
    waker: mio::Waker,
    registrations: Mutex<RegistrationSet>,
    /// An eventfd write is in flight and not yet consumed by the driver.
    wake_pending: AtomicBool,
    /// `unpark` was called since the last `did_wake`.
    did_wake: AtomicBool,
}

impl Driver {
    /// Creates the reactor; `nevents` is how many events one turn fetches
    /// (0 = default).
    pub(crate) fn new(nevents: usize) -> io::Result<(Driver, Handle)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        let nevents = if nevents == 0 {
            DEFAULT_EVENTS
        } else {
            nevents
        };
        let inner = Arc::new(Inner {
            registry,
            waker,
            registrations: Mutex::new(RegistrationSet::default()),
            wake_pending: AtomicBool::new(false),
            did_wake: AtomicBool::new(false),
        });
        let driver = Driver {
            inner: inner.clone(),
            poll,
            events: mio::Events::with_capacity(nevents),
            dispatch: Vec::new(),
        };
        let handle = Handle { inner };
        Ok((driver, handle))
    }

    /// Blocks until [`Handle::unpark`], an I/O event, or `timeout`
    /// (`None` = no timeout, `Some(ZERO)` = poll without blocking), then
    /// delivers the events that arrived.
    pub(crate) fn park_timeout(&mut self, handle: &Handle, timeout: Option<Duration>) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
            Err(e) => panic!("unexpected error when polling the I/O driver: {e:?}"),
        }
        {
            // Taken at the first registration's event, held for the rest
            // of the batch: one lock per turn, none for a wake-up alone.
            let mut set = None;
            for event in self.events.iter() {
                let token = event.token();
                if token == WAKE_TOKEN {
                    // See "Unpark protocol": the swap synchronises with the
                    // unparker so its writes are visible after we return.
                    handle.inner.wake_pending.swap(false, Ordering::SeqCst);
                    continue;
                }
                let set = set.get_or_insert_with(|| handle.inner.registrations.lock());
                if let Some(io) = set.get(token) {
                    self.dispatch.push((io.clone(), Ready::from_mio(event)));
                }
            }
        }
        for (io, ready) in self.dispatch.drain(..) {
            io.dispatch(ready);
        }
    }

    /// Shuts every registration down (see "Shutdown protocol").
    pub(crate) fn shutdown(&mut self, handle: &Handle) {
        handle.shutdown();
    }
}

impl Drop for Driver {
    /// Nobody can deliver events any more: fail the waiters rather than
    /// let them hang (a no-op if `shutdown` already ran).
    fn drop(&mut self) {
        Handle {
            inner: self.inner.clone(),
        }
        .shutdown();
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("io::Driver").finish_non_exhaustive()
    }
}

impl Handle {
    /// Interrupts the driver's poll; callable from any thread, never lost.
    pub(crate) fn unpark(&self) {
        self.inner.did_wake.store(true, Ordering::SeqCst);
        if !self.inner.wake_pending.swap(true, Ordering::SeqCst) {
            if let Err(e) = self.inner.waker.wake() {
                // Allow a later unpark to retry.
                self.inner.wake_pending.store(false, Ordering::SeqCst);
                panic!("failed to wake the I/O driver: {e:?}");
            }
        }
    }

    /// Whether `unpark` was called since the last call (for the paused
    /// clock in the time driver).
    #[allow(dead_code)]
    pub(crate) fn did_wake(&self) -> bool {
        self.inner.did_wake.swap(false, Ordering::SeqCst)
    }

    /// Registers `source` with `interest`; the returned entry receives its
    /// readiness. Fails after shutdown or if `source` is not pollable.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<Arc<ScheduledIo>> {
        let io = self.inner.registrations.lock().allocate()?;
        if let Err(e) = self
            .inner
            .registry
            .register(source, io.token(), interest.to_mio())
        {
            self.release(&io);
            return Err(e);
        }
        Ok(io)
    }

    /// Registers the raw `fd` level-triggered for `interest` (see
    /// `io::level`); the returned entry receives its readiness, reported by
    /// every poll while the fd stays ready.
    pub(crate) fn register_level(
        &self,
        fd: std::os::unix::io::RawFd,
        interest: Interest,
    ) -> io::Result<Arc<ScheduledIo>> {
        use std::os::unix::io::AsRawFd;
        let io = self.inner.registrations.lock().allocate()?;
        if let Err(e) = super::level::add(self.inner.registry.as_raw_fd(), fd, io.token(), interest)
        {
            self.release(&io);
            return Err(e);
        }
        Ok(io)
    }

    /// Removes `source` from the poll and releases `io`'s slot.
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        io: &ScheduledIo,
    ) -> io::Result<()> {
        let res = self.inner.registry.deregister(source);
        self.release(io);
        res
    }

    /// Releases `io`'s slot (idempotent).
    pub(crate) fn release(&self, io: &ScheduledIo) {
        let _: Removed = self.inner.registrations.lock().remove(io);
    }

    /// Marks the driver shut down and fails every waiter.
    fn shutdown(&self) {
        let live = self.inner.registrations.lock().shutdown();
        for io in live {
            io.shutdown();
        }
    }

    /// Live registrations (used by tests to prove nothing leaks).
    pub(crate) fn num_registrations(&self) -> usize {
        self.inner.registrations.lock().len()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No lock here: a Debug print must never block or deadlock.
        f.debug_struct("io::Handle").finish_non_exhaustive()
    }
}
