//! [`TcpListener`]: accepts TCP connections on the runtime's reactor.
//!
//! Invariant: the listening socket is non-blocking and registered for
//! readability; `accept` waits for readiness and retries only after the
//! readiness it consumed was cleared on `WouldBlock`.
use crate::io::poll_evented::PollEvented;
use crate::io::Interest;
use crate::net::{addr, TcpStream};
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::task::{ready, Context, Poll};

/// A TCP socket server, listening for connections.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use runtime_core::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// loop {
///     let (socket, peer) = listener.accept().await?;
///     runtime_core::spawn(async move { let _ = (socket, peer); });
/// }
/// # }
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (`SO_REUSEADDR` set, backlog 1024), trying each
    /// resolved address in turn. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        addr::each_addr_sync(addr, |a| TcpListener::new(Self::listen_on(a)?))
    }

    /// A non-blocking listening socket on `a` with the documented options
    /// (mio's own `bind` listens with a backlog of 128).
    fn listen_on(a: SocketAddr) -> io::Result<mio::net::TcpListener> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(a), Type::STREAM.cloexec(), None)?;
        socket.set_nonblocking(true)?;
        socket.set_reuse_address(true)?;
        socket.bind(&a.into())?;
        socket.listen(crate::net::sys::LISTEN_BACKLOG)?;
        Ok(mio::net::TcpListener::from_std(socket.into()))
    }

    fn new(sys: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new_with_interest(sys, Interest::READABLE)?,
        })
    }

    /// Wraps a std listener (switched to non-blocking mode here). Fails
    /// outside a runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Deregisters and returns a std listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let sys = self.io.into_inner()?;
        // SAFETY: ownership of the open listening fd moves from `sys` to
        // the std listener exactly once.
        Ok(unsafe { std::net::TcpListener::from_raw_fd(sys.into_raw_fd()) })
    }

    /// Waits for and accepts a connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (sys, peer) = self
            .io
            .registration()
            .async_io(Interest::READABLE, || self.io.accept())
            .await?;
        Ok((TcpStream::new(sys)?, peer))
    }

    /// Polls for a connection (only the last task polling is woken).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (sys, peer) = ready!(self.io.poll_read_with(cx, |l| l.accept()))?;
        Poll::Ready(TcpStream::new(sys).map(|s| (s, peer)))
    }

    /// The local address (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
