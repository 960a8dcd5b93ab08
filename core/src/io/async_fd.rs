//! [`AsyncFd`]: readiness notifications for any file descriptor (pipes,
//! eventfds, a C library's socket, ...).
//!
//! Invariants:
//! - What is registered is a descriptor the `AsyncFd` owns (`registered`):
//!   a private `F_DUPFD_CLOEXEC` duplicate of the fd made by `new` or
//!   `level_triggered`, or the one handed over to `with_registered_fd`,
//!   from registration until `into_inner`, `into_registered_fd` or drop.
//!   Safe code cannot close or replace it (a foreign `close` of a
//!   descriptor one does not own breaks I/O safety), so deregistering
//!   removes exactly this registration's epoll entry, even if the wrapped
//!   value's fd was closed, reused for another file or swapped through
//!   `get_mut` meanwhile. The reactor relies on this: an entry's address
//!   is its epoll token, and its memory is let go once its `EPOLL_CTL_DEL`
//!   succeeded (see `registration_set`).
//! - A ready guard carries the readiness it observed (with its tick); its
//!   `clear_ready` only removes that observation, so an event that arrived
//!   after the guard was created is never lost. Dropping a guard keeps the
//!   readiness (the next wait returns at once).
use crate::io::registration::Registration;
use crate::io::scheduled_io::ReadyEvent;
use crate::io::{Interest, Ready};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::task::{ready, Context, Poll};

/// Associates a file descriptor with the runtime's reactor, so tasks can
/// wait for it to become readable or writable.
///
/// The fd should be in non-blocking mode: `AsyncFd` only reports readiness;
/// the reads and writes are yours, and they must report `WouldBlock` when
/// the fd is drained so that the readiness can be cleared.
///
/// The reactor watches a duplicate of the fd that the `AsyncFd` owns (one
/// `fcntl(F_DUPFD_CLOEXEC)` at registration, one `close` at drop; a
/// caller that has a duplicate already can hand it over instead, see
/// [`with_registered_fd`](Self::with_registered_fd)). So the same fd may
/// be wrapped by two `AsyncFd`s, each told of its readiness, and the open
/// file stays open until the `AsyncFd` is dropped or
/// [`into_inner`](Self::into_inner)ed, even if the wrapped fd is closed
/// first.
///
/// ```
/// # let rt = runtime_core::runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// use runtime_core::io::AsyncFd;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// let (mut a, b) = UnixStream::pair()?;
/// b.set_nonblocking(true)?;
/// let b = AsyncFd::new(b)?;
/// a.write_all(b"hi")?;
/// let mut buf = [0u8; 2];
/// loop {
///     let mut guard = b.readable().await?;
///     match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///         Ok(n) => { assert_eq!(n?, 2); break; }
///         Err(_would_block) => continue,
///     }
/// }
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    registration: Registration,
    /// The duplicate registered with the reactor (see the module docs).
    /// `Some` until `into_registered_fd` hands it out.
    registered: Option<OwnedFd>,
    inner: Option<T>,
}

/// A close-on-exec duplicate of `fd`, owned by the caller.
fn duplicate(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on any integer is memory-safe; a bad fd is
    // reported through the return value.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

/// The error of [`AsyncFdReadyGuard::try_io`]: the operation would block
/// (the readiness has been cleared; wait again).
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryIoError {}

/// The error of [`AsyncFd::try_new`]: registration failed; the value is
/// handed back instead of being dropped.
pub struct AsyncFdTryNewError<T> {
    inner: T,
    cause: io::Error,
}

impl<T> AsyncFdTryNewError<T> {
    /// The value that could not be registered and the reason.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Debug for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdTryNewError")
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for AsyncFdTryNewError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.cause, f)
    }
}

impl<T> std::error::Error for AsyncFdTryNewError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T> From<AsyncFdTryNewError<T>> for io::Error {
    fn from(e: AsyncFdTryNewError<T>) -> io::Error {
        e.cause
    }
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for readability and writability with the current
    /// runtime. Fails (dropping `inner`) outside a runtime, after shutdown,
    /// or if the fd cannot be polled (closed fd, regular file).
    pub fn new(inner: T) -> io::Result<Self> {
        Self::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Like [`AsyncFd::new`] but only for `interest`.
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<Self> {
        Self::try_with_interest(inner, interest).map_err(Into::into)
    }

    /// Like [`AsyncFd::new`], handing `inner` back on failure.
    pub fn try_new(inner: T) -> Result<Self, AsyncFdTryNewError<T>> {
        Self::try_with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Like [`AsyncFd::with_interest`], handing `inner` back on failure.
    pub fn try_with_interest(inner: T, interest: Interest) -> Result<Self, AsyncFdTryNewError<T>> {
        match duplicate(inner.as_raw_fd()) {
            Ok(registered) => Self::try_register(inner, registered, interest, false),
            Err(cause) => Err(AsyncFdTryNewError { inner, cause }),
        }
    }

    /// Like [`AsyncFd::with_interest`], but the reactor watches
    /// `registered`, which the `AsyncFd` takes over, instead of a fresh
    /// duplicate of `inner`'s fd: for a caller that holds a descriptor of
    /// its own already (such as one [`into_registered_fd`] handed back),
    /// so that one suffices.
    ///
    /// Readiness is that of `registered`'s open file; `inner` is only
    /// carried along (`get_ref`, `into_inner`), and is what the `AsyncFd`'s
    /// own `as_raw_fd` returns: use [`registered_fd`](Self::registered_fd)
    /// to reach the watched descriptor.
    ///
    /// [`into_registered_fd`]: Self::into_registered_fd
    pub fn with_registered_fd(
        inner: T,
        registered: OwnedFd,
        interest: Interest,
    ) -> io::Result<Self> {
        Self::try_register(inner, registered, interest, false).map_err(Into::into)
    }

    /// [`AsyncFd::level_triggered`] with `registered` as in
    /// [`AsyncFd::with_registered_fd`].
    pub fn level_triggered_with_registered_fd(
        inner: T,
        registered: OwnedFd,
        interest: Interest,
    ) -> io::Result<Self> {
        Self::try_register(inner, registered, interest, true).map_err(Into::into)
    }

    /// The descriptor the reactor watches: the `AsyncFd`'s own duplicate
    /// (or the one it was given), open until the `AsyncFd` is dropped.
    pub fn registered_fd(&self) -> BorrowedFd<'_> {
        self.registered
            .as_ref()
            .expect("present until drop")
            .as_fd()
    }

    /// Deregisters and returns the wrapped value and the descriptor that
    /// was watched, e.g. to register that same descriptor again with
    /// another interest (no new descriptor needed, so it works with the
    /// fd table full).
    pub fn into_registered_fd(mut self) -> (T, OwnedFd) {
        self.deregister();
        let inner = self.inner.take().expect("present until drop");
        let registered = self.registered.take().expect("present until drop");
        (inner, registered)
    }

    fn try_register(
        inner: T,
        registered: OwnedFd,
        interest: Interest,
        level: bool,
    ) -> Result<Self, AsyncFdTryNewError<T>> {
        let fd = registered.as_raw_fd();
        let registration = if level {
            Registration::new_level(fd, interest)
        } else {
            Registration::new(&mut mio::unix::SourceFd(&fd), interest)
        };
        match registration {
            Ok(registration) => Ok(AsyncFd {
                registration,
                registered: Some(registered),
                inner: Some(inner),
            }),
            Err(cause) => Err(AsyncFdTryNewError { inner, cause }),
        }
    }

    /// Registers `inner` *level-triggered* for `interest` (Linux only;
    /// elsewhere this fails with `ErrorKind::Unsupported`, dropping
    /// `inner`): the reactor reports the fd on every turn for as long as it
    /// is ready, not once per change.
    ///
    /// This suits a loop that clears the readiness *before* acting on it
    /// (`guard.clear_ready()`, then read or write): if the fd is still
    /// ready afterwards, the next reactor turn says so again, so no
    /// readiness is missed and no extra syscall is needed to find out.
    /// Used on a multi-thread runtime, a ready fd that nobody is waiting
    /// for keeps the parked worker's poll from sleeping until the fd is
    /// drained; prefer [`AsyncFd::with_interest`] there.
    pub fn level_triggered(inner: T, interest: Interest) -> io::Result<Self> {
        let registered = duplicate(inner.as_raw_fd())?;
        Self::try_register(inner, registered, interest, true).map_err(Into::into)
    }

    /// Installs `hook`, once per `AsyncFd` (a second call gives its hook
    /// back in `Err`): the I/O driver then calls `hook(ready)` with the
    /// readiness of each event this registration receives, on the thread
    /// turning the driver, before any task waiting on this `AsyncFd` is
    /// woken. If the hook returns `true` the event is consumed: its
    /// read/write readiness is cleared and no task is woken for it. If it
    /// returns `false`, waiting tasks are woken as usual. A shutdown of the
    /// driver never goes through the hook. The hook is dropped with the
    /// registration. A hook that panics is reported on stderr and counts
    /// as returning `false`.
    ///
    /// This is the embedding hook under callback-style APIs (the C ABI's
    /// fd watches on a current-thread runtime call their C callback from
    /// here, as libuv's loop does): an event costs no task wake-up and no
    /// poll. The hook must not block; return `true` only when the readiness
    /// has been dealt with, e.g. on a [`level_triggered`](Self::level_triggered)
    /// registration (reported again on the next turn while still ready),
    /// or after reading or writing until `WouldBlock`.
    pub fn set_event_hook(
        &self,
        hook: Box<crate::io::EventHook>,
    ) -> Result<(), Box<crate::io::EventHook>> {
        self.registration.set_event_hook(hook)
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until drop")
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until drop")
    }

    /// Deregisters the fd and returns the wrapped value.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.inner.take().expect("present until drop")
    }

    fn deregister(&mut self) {
        if let (Some(_), Some(registered)) = (&self.inner, &self.registered) {
            let fd = registered.as_raw_fd();
            // Our own duplicate is open, so this removes our entry. (Were
            // it to fail, the entry would be released anyway and its
            // memory kept until the driver goes.)
            let _ = self.registration.deregister(&mut mio::unix::SourceFd(&fd));
        }
    }

    /// Clears the bits of `ready` in `reported` (from a guard of this
    /// `AsyncFd`) unless readiness arrived since it was observed, as the
    /// guard's [`clear_ready_matching`](AsyncFdReadyGuard::clear_ready_matching)
    /// would. Registers no waker.
    pub fn clear_reported(&self, reported: ReportedReady, ready: Ready) {
        let mut ev = reported.0;
        clear(&self.registration, &mut ev, ready);
    }

    /// Polls for read readiness; the returned guard says what was ready.
    ///
    /// Only the last task to call this is woken (as for `poll_read`); use
    /// [`AsyncFd::readable`] when several tasks wait.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ev = ready!(self.registration.poll_read_ready(cx))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            async_fd: self,
            event: Some(ev),
        }))
    }

    /// Mutable form of [`AsyncFd::poll_read_ready`].
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let ev = ready!(self.registration.poll_read_ready(cx))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            event: Some(ev),
        }))
    }

    /// Polls for write readiness (see [`AsyncFd::poll_read_ready`]).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ev = ready!(self.registration.poll_write_ready(cx))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            async_fd: self,
            event: Some(ev),
        }))
    }

    /// Mutable form of [`AsyncFd::poll_write_ready`].
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let ev = ready!(self.registration.poll_write_ready(cx))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            event: Some(ev),
        }))
    }

    /// Waits until any of `interest` is ready. Any number of tasks may wait
    /// at once; all are woken.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let ev = self.registration.readiness(interest).await?;
        Ok(AsyncFdReadyGuard {
            async_fd: self,
            event: Some(ev),
        })
    }

    /// Mutable form of [`AsyncFd::ready`].
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let ev = self.registration.readiness(interest).await?;
        Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            event: Some(ev),
        })
    }

    /// Waits until the fd is readable.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Mutable form of [`AsyncFd::readable`].
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until the fd is writable.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Mutable form of [`AsyncFd::writable`].
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Waits for `interest` and runs `f` until it stops returning
    /// `WouldBlock` (clearing readiness each time it does).
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.get_ref();
        self.registration.async_io(interest, || f(inner)).await
    }

    /// Runs `f` once if `interest` is currently ready, else `WouldBlock`.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.get_ref();
        self.registration.try_io(interest, || f(inner))
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        self.deregister();
    }
}

/// Readiness observed by [`AsyncFd::readable`] and friends.
///
/// Call [`clear_ready`](Self::clear_ready) when your syscall returned
/// `WouldBlock` (or use [`try_io`](Self::try_io), which does it for you);
/// dropping the guard keeps the readiness.
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// Mutable form of [`AsyncFdReadyGuard`].
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    async_fd: &'a mut AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// The readiness a guard reported, detached from it (`Copy`), so that it
/// can be cleared later with [`AsyncFd::clear_reported`]: for embedders
/// that poll, hand the result to a foreign event loop, and clear once that
/// loop's I/O returned `WouldBlock`. Like the guard, it remembers when the
/// readiness was observed, so clearing it keeps any event that arrived
/// since. Give it back to the `AsyncFd` that reported it.
#[derive(Debug, Clone, Copy)]
pub struct ReportedReady(Option<ReadyEvent>);

impl ReportedReady {
    /// The readiness reported.
    pub fn ready(&self) -> Ready {
        ready_of(&self.0)
    }
}

fn clear(reg: &Registration, event: &mut Option<ReadyEvent>, matching: Ready) {
    if let Some(mut ev) = event.take() {
        ev.ready = ev.ready.intersection(matching);
        reg.clear_readiness(ev);
    }
}

fn ready_of(event: &Option<ReadyEvent>) -> Ready {
    event.map(|e| e.ready).unwrap_or(Ready::EMPTY)
}

macro_rules! guard_common {
    () => {
        /// Forgets the observed readiness; the next wait blocks until a new
        /// event arrives (events that arrived after this guard was created
        /// are kept).
        pub fn clear_ready(&mut self) {
            clear(&self.async_fd.registration, &mut self.event, Ready::ALL);
        }

        /// Clears only the bits of `ready` (e.g. `Ready::READABLE` while
        /// keeping writability).
        pub fn clear_ready_matching(&mut self, ready: Ready) {
            if let Some(ev) = self.event {
                let mut taken = Some(ev);
                clear(&self.async_fd.registration, &mut taken, ready);
                let rest = ev.ready - ready;
                self.event = if rest.is_empty() {
                    None
                } else {
                    Some(ReadyEvent { ready: rest, ..ev })
                };
            }
        }

        /// Keeps the readiness (what dropping the guard does too).
        pub fn retain_ready(&mut self) {}

        /// The readiness this guard observed.
        pub fn ready(&self) -> Ready {
            ready_of(&self.event)
        }

        /// The readiness this guard observed, to be cleared later with
        /// [`AsyncFd::clear_reported`] (see [`ReportedReady`]).
        pub fn reported(&self) -> ReportedReady {
            ReportedReady(self.event)
        }

        /// The wrapped value.
        pub fn get_inner(&self) -> &T {
            self.async_fd.get_ref()
        }
    };
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    guard_common!();

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and
    /// returns `Err(TryIoError)` so the caller waits again.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd` this guard belongs to.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.async_fd
    }
}

impl<T: AsRawFd> AsyncFdReadyMutGuard<'_, T> {
    guard_common!();

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and
    /// returns `Err(TryIoError)` so the caller waits again.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            res => Ok(res),
        }
    }

    /// The `AsyncFd` this guard belongs to.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.async_fd
    }

    /// The `AsyncFd` this guard belongs to, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.async_fd
    }

    /// The wrapped value, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.async_fd.get_mut()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("ready", &self.ready())
            .finish_non_exhaustive()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("ready", &self.ready())
            .finish_non_exhaustive()
    }
}
