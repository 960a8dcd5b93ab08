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
//!   [`RegistrationSet`] (mutex-protected; it keeps each [`ScheduledIo`]
//!   allocated for as long as the poll may report it). Registering and
//!   deregistering only touch the registry and the set.
//! - Dispatch: an entry's epoll token is its address, so after `poll`
//!   returns the driver goes straight from each event to its entry, with
//!   no lock and no reference count, stores the readiness and wakes the
//!   entry's waiters (or offers the event to the entry's event hook, see
//!   [`ScheduledIo`]). No waker or hook is ever invoked while a driver lock
//!   is held.
//! - Publication: the kernel orders a registration's `EPOLL_CTL_ADD` before
//!   any event for it, but the language's memory model (and
//!   ThreadSanitizer) does not see through system calls. So a registering
//!   thread bumps `published` (`Release`) after creating the entry and
//!   before the `ADD`, and the driver loads it (`Acquire`) after each poll.
//!   The kernel's ordering (bump, `ADD`, event, `epoll_wait` returns, load)
//!   makes that load read the bump or a later one, which gives the model
//!   (and ThreadSanitizer) the edge: the entry's initialisation
//!   happens-before its dispatch. One atomic add per registration, one
//!   load per turn.
//! - Release: each turn begins by freeing the entries released since the
//!   last one after a successful `EPOLL_CTL_DEL` (see `registration_set`);
//!   the driver itself takes the set's lock nowhere else (a hook or waker
//!   run during dispatch may, to release), and checks an atomic flag first.
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
//! [`Driver::shutdown`] marks the registration set shut down (new
//! registrations fail with an `io::Error`), then sets `SHUTDOWN` on every
//! live entry and wakes all its waiters; their futures resolve to an
//! `io::Error` instead of hanging. Entries stay in the set until their owners release them.
//! Dropping the `Driver` runs the same shutdown, so a waiter can never
//! outlive the poll that would have woken it, and then frees every released
//! entry: no thread of this process can wait on the poll any more (the
//! epoll instance itself lives on while a `Handle`'s registry clone does).
//!
//! # Fork
//!
//! A forked child shares the epoll instance but not the heap, so a driver
//! serves only the process generation that created it (`io::fork`): in
//! any other, registering fails with an `io::Error`, turning the driver
//! panics (it would read the child's memory at the parent's addresses),
//! and deregistering leaves the poll alone (a `DEL` would remove the
//! parent's entry from the shared instance) and keeps the entry's memory.
//!
//! # SIGPIPE
//!
//! The driver does not touch the process's signal disposition (the runtime
//! may be embedded in a C or Python host). Instead every socket write the
//! runtime performs uses `send`/`sendmsg` with `MSG_NOSIGNAL`, so writing to
//! a closed peer yields `EPIPE` (`BrokenPipe`), never a signal. Raw `write`s
//! a user performs on an [`AsyncFd`](crate::io::AsyncFd) are their own.
use crate::io::fork;
use crate::io::registration_set::{PollEntry, RegistrationSet, Removed};
use crate::io::scheduled_io::ScheduledIo;
use crate::io::{Interest, Ready};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use std::fmt;
use std::io;
use std::time::Duration;

/// The token reserved for the `mio::Waker`; a registration's token is the
/// address of its (aligned) entry, so it cannot be this.
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Events fetched per `epoll_wait` when no hint is given.
const DEFAULT_EVENTS: usize = 1024;

/// Owns the blocking part of the driver; held by exactly one parked worker.
pub(crate) struct Driver {
    /// The shared state, so dropping the driver can shut registrations down.
    inner: Arc<Inner>,
    poll: mio::Poll,
    events: mio::Events,
    /// Entries released since the last turn, freed at the next (scratch
    /// buffer reused across turns).
    releasing: Vec<Arc<ScheduledIo>>,
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
    /// Bumped after each entry is created, before its `ADD` (see
    /// "Publication" above).
    published: AtomicUsize,
    /// The set has pending releases for the driver to free (a hint read
    /// without the lock; set and cleared under it).
    needs_release: AtomicBool,
    /// An eventfd write is in flight and not yet consumed by the driver.
    wake_pending: AtomicBool,
    /// `unpark` was called since the last `did_wake`.
    did_wake: AtomicBool,
    /// The process generation that created the poll (see "Fork").
    generation: u64,
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
            published: AtomicUsize::new(0),
            needs_release: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            did_wake: AtomicBool::new(false),
            generation: fork::generation(),
        });
        let driver = Driver {
            inner: inner.clone(),
            poll,
            events: mio::Events::with_capacity(nevents),
            releasing: Vec::new(),
        };
        let handle = Handle { inner };
        Ok((driver, handle))
    }

    /// Blocks until [`Handle::unpark`], an I/O event, or `timeout`
    /// (`None` = no timeout, `Some(ZERO)` = poll without blocking), then
    /// delivers the events that arrived.
    pub(crate) fn park_timeout(&mut self, handle: &Handle, timeout: Option<Duration>) {
        assert!(
            handle.in_creating_process(),
            "this runtime's I/O driver was created in another process (before a fork); \
             create a new runtime in this one"
        );
        self.free_released(handle);
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
            Err(e) => panic!("unexpected error when polling the I/O driver: {e:?}"),
        }
        // See "Publication": pairs with `publish` in every registration
        // whose event this poll returned.
        let _ = handle.inner.published.load(Ordering::Acquire);
        // A (foreign) waker that panics must not keep the rest of the batch
        // from being dispatched (readiness is edge-triggered: an event not
        // dispatched now is lost): its panic goes on after the batch.
        let mut first_panic = None;
        for event in self.events.iter() {
            let token = event.token();
            if token == WAKE_TOKEN {
                // See "Unpark protocol": the swap synchronises with the
                // unparker so its writes are visible after we return.
                handle.inner.wake_pending.swap(false, Ordering::SeqCst);
                continue;
            }
            // SAFETY: every other token this poll reports was registered
            // as the address of a `ScheduledIo` that the registration set
            // holds an `Arc` to until no event can name it
            // (`registration_set`): live entries stay; entries released
            // after a successful `DEL` are freed only by `free_released`
            // at the start of a later turn, after this batch, fetched by a
            // poll that began before they were freed, is dispatched, while
            // a poll beginning after the `DEL` cannot report them; entries
            // whose `DEL` failed or never ran are kept until this driver
            // is dropped; entries freed at once were never in the poll.
            let io = unsafe { &*(token.0 as *const ScheduledIo) };
            let ready = Ready::from_mio(event);
            if let Err(p) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| io.dispatch(ready)))
            {
                first_panic.get_or_insert(p);
            }
        }
        if let Some(panic) = first_panic {
            std::panic::resume_unwind(panic);
        }
    }

    /// Frees the entries released (with their `DEL` done) since the last
    /// turn: every event fetched before has been dispatched by now.
    fn free_released(&mut self, handle: &Handle) {
        if !handle.inner.needs_release.load(Ordering::Relaxed) {
            return;
        }
        {
            let mut set = handle.inner.registrations.lock();
            handle.inner.needs_release.store(false, Ordering::Relaxed);
            set.take_pending(&mut self.releasing);
        }
        // Outside the lock: an entry's drop may drop wakers.
        self.releasing.clear();
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
        // Nobody in this process can wait on the poll now (see "Shutdown
        // protocol"), so no event can name a released entry.
        let released = self.inner.registrations.lock().close_poll();
        drop(released);
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

    /// Publishes the entries created so far to the driver's `Acquire` load
    /// after any poll that reports them (see "Publication"); called before
    /// each `ADD`.
    fn publish(&self) {
        self.inner.published.fetch_add(1, Ordering::Release);
    }

    /// Whether this is the process generation that created the poll (see
    /// "Fork"); one atomic load.
    fn in_creating_process(&self) -> bool {
        fork::generation() == self.inner.generation
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
        self.add_entry(|registry, token| registry.register(source, token, interest.to_mio()))
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
        self.add_entry(|registry, token| {
            super::level::add(registry.as_raw_fd(), fd, token, interest)
        })
    }

    /// Every registration's steps: refused in another process (see
    /// "Fork"), a new entry, published (see "Publication"), then `add`
    /// puts its token into the poll; an entry the poll refused is freed.
    fn add_entry(
        &self,
        add: impl FnOnce(&mio::Registry, mio::Token) -> io::Result<()>,
    ) -> io::Result<Arc<ScheduledIo>> {
        if !self.in_creating_process() {
            return Err(fork::forked_error());
        }
        let io = self.inner.registrations.lock().allocate()?;
        self.publish();
        if let Err(e) = add(&self.inner.registry, io.token()) {
            self.release(&io, PollEntry::NeverAdded);
            return Err(e);
        }
        Ok(io)
    }

    /// Removes `source` from the poll and releases `io`.
    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        io: &ScheduledIo,
    ) -> io::Result<()> {
        if !self.in_creating_process() {
            // The poll is shared with the process that created it: leave
            // its entry alone (see "Fork").
            self.release(io, PollEntry::MaybeLive);
            return Ok(());
        }
        let res = self.inner.registry.deregister(source);
        let entry = match res {
            Ok(()) => PollEntry::Deleted,
            Err(_) => PollEntry::MaybeLive,
        };
        self.release(io, entry);
        res
    }

    /// Releases `io` (idempotent): its hook and wakers go now, its memory
    /// when no event can name it (see `registration_set`).
    pub(crate) fn release(&self, io: &ScheduledIo, entry: PollEntry) {
        let removed = {
            let mut set = self.inner.registrations.lock();
            let removed = set.remove(io, entry);
            if let Removed::Deferred { .. } = removed {
                self.inner.needs_release.store(true, Ordering::Relaxed);
            }
            removed
        };
        let freed = match removed {
            Removed::NotPresent => return,
            Removed::Free(entry) => Some(entry),
            Removed::Deferred { unpark } => {
                if unpark {
                    self.unpark();
                }
                None
            }
            Removed::Retained => None,
        };
        io.release();
        // The set's reference, if it was the last but the caller's, goes
        // outside the lock too.
        drop(freed);
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

    /// Released entries whose memory is still kept (tests).
    #[cfg(test)]
    pub(crate) fn num_kept(&self) -> usize {
        self.inner.registrations.lock().kept()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No lock here: a Debug print must never block or deadlock.
        f.debug_struct("io::Handle").finish_non_exhaustive()
    }
}
