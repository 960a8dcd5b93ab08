//! [`UnixDatagram`]: Unix-domain datagram sockets.
//!
//! Invariant: non-blocking, registered for both directions; every async
//! operation is the edge-triggered loop of `io::registration`. Every send
//! (`send` through `net::sys`, `send_to` through `socket2`) uses
//! `MSG_NOSIGNAL`. Paths become addresses through `unix::addr` (Linux
//! abstract names included), and a `bind` that fails after creating its
//! socket file removes it again.
use super::addr::{self, BoundFile};
use crate::io::poll_evented::PollEvented;
use crate::io::{Interest, Ready};
use crate::net::sys;
use socket2::SockRef;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// What the socket is registered for (no urgent data on Unix sockets).
const REGISTERED: Interest = Interest::READ_WRITE;

/// A Unix-domain datagram socket.
///
/// ```
/// # let rt = runtime_core::runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// use runtime_core::net::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"ping").await?;
/// let mut buf = [0u8; 8];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"ping");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to `path` (which must not exist). Must be called within a
    /// runtime; fails with an `io::Error` otherwise, creating no file.
    ///
    /// On Linux a `path` starting with a NUL byte (`"\0name"`) binds the
    /// abstract socket `name` instead (all bytes after that first one are the
    /// name), which has no file. Any other path holding a NUL is refused
    /// with `io::ErrorKind::InvalidInput`, never cut short at it. If the
    /// bind fails after the socket file was created, the file is removed.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = addr::socket_addr(path.as_ref())?;
        // Fail before creating the file when there is no runtime.
        crate::io::context::current()?;
        let sys = mio::net::UnixDatagram::bind_addr(&addr)?;
        let file = BoundFile::new(addr.as_pathname());
        let socket = UnixDatagram::new(sys)?;
        file.keep();
        Ok(socket)
    }

    /// A socket not bound to any address (it can still `send_to`).
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new(mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::new(a)?, UnixDatagram::new(b)?))
    }

    fn new(sys: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new_with_interest(sys, REGISTERED)?,
        })
    }

    /// Wraps a std socket (switched to non-blocking mode here).
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::new(mio::net::UnixDatagram::from_std(socket))
    }

    /// Deregisters and returns a std socket (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        let sys = self.io.into_inner()?;
        // SAFETY: ownership of the open socket fd moves exactly once.
        Ok(unsafe { std::os::unix::net::UnixDatagram::from_raw_fd(sys.into_raw_fd()) })
    }

    /// Connects to the socket at `path` (default destination and only
    /// accepted source). Paths are as for [`bind`](UnixDatagram::bind):
    /// `"\0name"` is an abstract name on Linux, any other path holding a NUL
    /// is refused.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = addr::sock_addr(path.as_ref())?;
        SockRef::from(&*self.io).connect(&addr)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Takes the pending socket error, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Waits until any of `interest` is ready.
    /// `InvalidInput` for `PRIORITY` alone (never reported for this
    /// socket).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        interest.check_registered(REGISTERED)?;
        Ok(self.io.registration().readiness(interest).await?.ready)
    }

    /// Waits until a datagram can be received.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a datagram can be sent.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Sends to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        self.io
            .registration()
            .async_io(Interest::WRITABLE, || sys::send(fd, buf))
            .await
    }

    /// Receives from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .registration()
            .async_io(Interest::READABLE, || self.io.recv(buf))
            .await
    }

    /// Sends to the socket bound at `path` (as for
    /// [`connect`](UnixDatagram::connect): `"\0name"` is an abstract name
    /// on Linux, any other path holding a NUL is refused).
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = addr::sock_addr(path.as_ref())?;
        self.io
            .registration()
            .async_io(Interest::WRITABLE, || sys::send_to(&*self.io, buf, &addr))
            .await
    }

    /// Receives a datagram and its sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .registration()
            .async_io(Interest::READABLE, || self.io.recv_from(buf))
            .await
    }

    /// Sends without waiting.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        self.io
            .registration()
            .try_io(Interest::WRITABLE, || sys::send(fd, buf))
    }

    /// Receives without waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .registration()
            .try_io(Interest::READABLE, || self.io.recv(buf))
    }

    /// Sends to `path` without waiting (paths as for
    /// [`send_to`](UnixDatagram::send_to)).
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = addr::sock_addr(path.as_ref())?;
        self.io
            .registration()
            .try_io(Interest::WRITABLE, || sys::send_to(&*self.io, buf, &addr))
    }

    /// Receives a datagram and its sender without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .registration()
            .try_io(Interest::READABLE, || self.io.recv_from(buf))
    }

    /// Polls a receive from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read_with(cx, |s| s.recv(buf))
    }

    /// Polls a send to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send(s.as_raw_fd(), buf))
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
