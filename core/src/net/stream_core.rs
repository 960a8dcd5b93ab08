//! [`StreamCore`]: the socket-independent body of `TcpStream` and
//! `UnixStream`, written once and generic over the `mio` socket type.
//!
//! Both public stream types are thin wrappers around a `StreamCore<S>`; the
//! public methods and trait impls they share (and their split halves) are
//! stamped out per type by the macros in `net::stream_api`, each forwarding
//! to a method here. Only what differs between TCP and Unix-domain streams
//! (constructors, socket options, address types, `Debug`) is written next to
//! each type.
//!
//! Invariants:
//! - The socket is non-blocking and registered with the reactor for both
//!   directions (TCP also for urgent data, `PRIORITY`) for the core's whole
//!   life; it is deregistered before it is
//!   closed or handed back by [`StreamCore::into_std`] (`PollEvented`'s
//!   invariant).
//! - Every read and write follows the edge-triggered loop of
//!   `io::registration` (wait for readiness, try the syscall, clear the
//!   observed readiness on `WouldBlock`) and charges the cooperative budget.
//! - Writes go through `net::sys` (`send`/`sendmsg` with `MSG_NOSIGNAL`), so
//!   a vanished peer surfaces as `BrokenPipe`, never as `SIGPIPE` (std's
//!   `UnixStream` would use `write`).
//! - Nothing is buffered in user space: flushing is a no-op and closing
//!   shuts the write direction down (`shutdown(2)` with `SHUT_WR`).
//! - Every method takes `&self`: reads use only the registration's reader
//!   waker slot and writes only the writer slot, so a reader and a writer
//!   sharing one core (the split halves) never steal each other's wake-ups.
use crate::io::poll_evented::PollEvented;
use crate::io::{Interest, Ready};
use crate::net::sys;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::net::Shutdown;
use std::os::unix::io::{AsFd, AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::task::{Context, Poll};

/// A connected `mio` stream socket that a [`StreamCore`] can drive.
pub(crate) trait StreamSocket: mio::event::Source + AsFd + AsRawFd + IntoRawFd {
    /// The std type that owns the same kind of socket (what `into_std`
    /// returns).
    type Std: FromRawFd;
    /// What the socket is registered for.
    const INTEREST: Interest;
    /// Whether a short read shows the receive queue drained (see
    /// `PollEvented::poll_read`).
    const SHORT_READ_DRAINS: bool;
}

impl StreamSocket for mio::net::TcpStream {
    type Std = std::net::TcpStream;
    /// Urgent data (`MSG_OOB`) is reported as `PRIORITY`: `ready` can wait
    /// for it, and a read stopped at the urgent mark keeps its readiness.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const INTEREST: Interest = Interest::READ_WRITE.add(Interest::PRIORITY);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const INTEREST: Interest = Interest::READ_WRITE;
    const SHORT_READ_DRAINS: bool = true;
}

impl StreamSocket for mio::net::UnixStream {
    type Std = std::os::unix::net::UnixStream;
    const INTEREST: Interest = Interest::READ_WRITE;
    /// A read stops after a message carrying fds or credentials with more
    /// queued behind it.
    const SHORT_READ_DRAINS: bool = false;
}

/// A registered, non-blocking stream socket and the readiness loops that
/// read and write it.
pub(crate) struct StreamCore<S: StreamSocket> {
    io: PollEvented<S>,
}

impl<S: StreamSocket> StreamCore<S> {
    /// Registers `sys` (already non-blocking) with the current runtime's
    /// reactor for reads and writes; fails outside a runtime.
    pub(crate) fn new(sys: S) -> io::Result<Self> {
        Ok(StreamCore {
            io: PollEvented::new_with_interest(sys, S::INTEREST)?,
        })
    }

    /// Registers `sys`, whose non-blocking connect is in progress, and waits
    /// for the connect to finish; its error (e.g. `ConnectionRefused`) is
    /// returned if it failed.
    pub(crate) async fn connect(sys: S) -> io::Result<Self> {
        let core = StreamCore::new(sys)?;
        core.io.registration().readiness(Interest::WRITABLE).await?;
        if let Some(e) = core.take_error()? {
            return Err(e);
        }
        // Writable without a pending error: the handshake completed (or
        // the peer already closed, which the first read/write reports).
        Ok(core)
    }

    /// Deregisters the socket and hands it back as its std type (still
    /// non-blocking).
    pub(crate) fn into_std(self) -> io::Result<S::Std> {
        let sys = self.io.into_inner()?;
        // SAFETY: `into_raw_fd` gives up ownership of the open, connected
        // socket fd that `sys` owned (nothing else closes or uses it any
        // more); `from_raw_fd` takes that ownership over exactly once.
        // `S::Std` is, by `StreamSocket`'s definition, the std type for the
        // same kind of socket.
        Ok(unsafe { S::Std::from_raw_fd(sys.into_raw_fd()) })
    }

    /// The `mio` socket, for the type-specific methods (addresses, socket
    /// options).
    pub(crate) fn sock(&self) -> &S {
        &self.io
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket2::SockRef::from(self.sock()).take_error()
    }

    /// Shuts the write direction down (`shutdown(fd, SHUT_WR)`); the peer
    /// reads EOF and reading still works.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        socket2::SockRef::from(self.sock()).shutdown(Shutdown::Write)
    }

    /// Waits until any of `interest` is ready; several tasks may wait at
    /// once. `InvalidInput` for an interest the socket is not registered
    /// for at all (`PRIORITY` alone on a Unix-domain stream), which could
    /// never become ready.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        interest.check_registered(S::INTEREST)?;
        Ok(self.io.registration().readiness(interest).await?.ready)
    }

    /// Polls for read readiness (only the last task polling is woken).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_read_ready(cx).map_ok(drop)
    }

    /// Polls for write readiness (only the last task polling is woken).
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_write_ready(cx).map_ok(drop)
    }

    /// Runs `f` once if `interest` is ready, clearing the readiness when it
    /// returns `WouldBlock`.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        interest.check_registered(S::INTEREST)?;
        self.io.registration().try_io(interest, f)
    }

    /// Waits for `interest` and runs `f` until it stops returning
    /// `WouldBlock`.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        interest.check_registered(S::INTEREST)?;
        self.io.registration().async_io(interest, f).await
    }

    /// Writes without waiting; `WouldBlock` if the send buffer is full.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        self.try_io(Interest::WRITABLE, || sys::send(fd, buf))
    }

    /// Vectored form of [`StreamCore::try_write`].
    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        self.try_io(Interest::WRITABLE, || sys::send_vectored(fd, bufs))
    }

    /// `AsyncWrite::poll_write` through a shared reference.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send(s.as_raw_fd(), buf))
    }

    /// `AsyncWrite::poll_write_vectored` through a shared reference.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send_vectored(s.as_raw_fd(), bufs))
    }
}

/// The reads, for sockets that can be read through a shared reference (as
/// both `mio` stream types can).
impl<S: StreamSocket> StreamCore<S>
where
    for<'a> &'a S: Read,
{
    /// Reads without waiting; `WouldBlock` if no data is available.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || self.sock().read(buf))
    }

    /// Vectored form of [`StreamCore::try_read`].
    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || self.sock().read_vectored(bufs))
    }

    /// `AsyncRead::poll_read` through a shared reference (a short read
    /// clears readiness at once, see `PollEvented::poll_read`).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf, S::SHORT_READ_DRAINS)
    }
}

impl<S: StreamSocket> AsRawFd for StreamCore<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}
