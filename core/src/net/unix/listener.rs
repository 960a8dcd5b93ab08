//! [`UnixListener`]: accepts Unix-domain stream connections.
//!
//! Invariant: non-blocking and registered for readability for its life.
//! The socket file is not removed on drop (as with std and Tokio), but a
//! `bind` that fails after creating it removes it again (`addr::BoundFile`).
use super::addr::{self, BoundFile};
use crate::io::poll_evented::PollEvented;
use crate::io::Interest;
use crate::net::UnixStream;
use std::fmt;
use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{ready, Context, Poll};

/// A Unix-domain socket server.
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist). Must be called within a
    /// runtime; fails with an `io::Error` otherwise, creating no file.
    ///
    /// On Linux a `path` starting with a NUL byte (`"\0name"`) binds the
    /// abstract socket `name` instead (all bytes after that first one are the
    /// name), which has no file. Any other path holding a NUL is refused
    /// with `io::ErrorKind::InvalidInput`, never cut short at it. If the
    /// bind fails after the socket file was created, the file is removed.
    ///
    /// The backlog is 1024 (like [`TcpListener`](crate::net::TcpListener)),
    /// so bursts of concurrent connects are queued rather than refused
    /// with `WouldBlock`.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        use socket2::{Domain, Socket, Type};
        let addr = addr::sock_addr(path.as_ref())?;
        // Fail before creating the file when there is no runtime.
        crate::io::context::current()?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr)?;
        let file = BoundFile::new(addr.as_pathname());
        socket.listen(crate::net::sys::LISTEN_BACKLOG)?;
        let std_listener: std::os::unix::net::UnixListener = socket.into();
        let listener = UnixListener::new(mio::net::UnixListener::from_std(std_listener))?;
        file.keep();
        Ok(listener)
    }

    fn new(sys: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollEvented::new_with_interest(sys, Interest::READABLE)?,
        })
    }

    /// Wraps a std listener (switched to non-blocking mode here).
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::new(mio::net::UnixListener::from_std(listener))
    }

    /// Deregisters and returns a std listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let sys = self.io.into_inner()?;
        // SAFETY: ownership of the open listening fd moves exactly once.
        Ok(unsafe { std::os::unix::net::UnixListener::from_raw_fd(sys.into_raw_fd()) })
    }

    /// Waits for and accepts a connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (sys, addr) = self
            .io
            .registration()
            .async_io(Interest::READABLE, || self.io.accept())
            .await?;
        Ok((UnixStream::new(sys)?, addr))
    }

    /// Polls for a connection (only the last task polling is woken).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (sys, addr) = ready!(self.io.poll_read_with(cx, |l| l.accept()))?;
        Poll::Ready(UnixStream::new(sys).map(|s| (s, addr)))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Takes the pending socket error, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
