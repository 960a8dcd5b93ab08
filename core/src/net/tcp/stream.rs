//! [`TcpStream`]: a TCP connection on the runtime's reactor.
//!
//! Invariants: the socket is non-blocking and registered for both
//! directions for its whole life; reads and writes follow the
//! edge-triggered loop of `io::registration`, charge the cooperative
//! budget, and never raise `SIGPIPE` (see `net::sys`).
use crate::io::poll_evented::PollEvented;
use crate::io::{AsyncRead, AsyncWrite, Interest, Ready};
use crate::net::tcp::split::split;
use crate::net::tcp::split_owned::split_owned;
use crate::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use crate::net::tcp::{ReadHalf, WriteHalf};
use crate::net::{addr, sys};
use std::fmt;
use std::io::{self, IoSlice, Read};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP connection.
///
/// Read and write with the re-exported `futures-io` traits
/// ([`AsyncReadExt`](crate::io::AsyncReadExt),
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt)); `close()` (or
/// [`TcpStream::shutdown`]) shuts the write half down.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
/// use runtime_core::net::TcpStream;
///
/// let mut stream = TcpStream::connect("127.0.0.1:7000").await?;
/// stream.write_all(b"hello").await?;
/// let mut buf = [0u8; 5];
/// stream.read_exact(&mut buf).await?;
/// # Ok(()) }
/// ```
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn; the error
    /// of the last attempt is returned if all fail (e.g.
    /// `ConnectionRefused`).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        addr::each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let sys = mio::net::TcpStream::connect(addr)?;
        TcpStream::connect_mio(sys).await
    }

    /// Waits for a non-blocking connect to finish.
    pub(crate) async fn connect_mio(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::new(sys)?;
        stream
            .io
            .registration()
            .readiness(Interest::WRITABLE)
            .await?;
        if let Some(e) = stream.io.take_error()? {
            return Err(e);
        }
        // Writable without a pending error: the handshake completed (or
        // the peer already closed, which the first read/write reports).
        Ok(stream)
    }

    pub(crate) fn new(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(sys)?,
        })
    }

    /// Wraps a std stream (switched to non-blocking mode here). Fails
    /// outside a runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters and returns a std stream (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let sys = self.io.into_inner()?;
        // SAFETY: `into_raw_fd` transfers ownership of an open TCP socket
        // fd, which `from_raw_fd` takes over exactly once.
        Ok(unsafe { std::net::TcpStream::from_raw_fd(sys.into_raw_fd()) })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Sets `SO_LINGER`.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(&*self.io).set_linger(dur)
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(&*self.io).linger()
    }

    /// Shuts the write half down (the peer reads EOF); reading still works.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.shutdown_std(Shutdown::Write)
    }

    pub(crate) fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Waits until any of `interest` is ready; several tasks may wait at
    /// once.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.io.registration().readiness(interest).await?.ready)
    }

    /// Waits until the stream is readable (then use [`try_read`](Self::try_read)).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until the stream is writable (then use [`try_write`](Self::try_write)).
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Polls for read readiness (only the last task polling is woken).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_read_ready(cx).map_ok(drop)
    }

    /// Polls for write readiness (only the last task polling is woken).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_write_ready(cx).map_ok(drop)
    }

    /// Reads without waiting; `WouldBlock` if no data is available.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .registration()
            .try_io(Interest::READABLE, || (&*self.io).read(buf))
    }

    /// Vectored form of [`TcpStream::try_read`].
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .registration()
            .try_io(Interest::READABLE, || (&*self.io).read_vectored(bufs))
    }

    /// Writes without waiting; `WouldBlock` if the send buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        self.io
            .registration()
            .try_io(Interest::WRITABLE, || sys::send(fd, buf))
    }

    /// Vectored form of [`TcpStream::try_write`].
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.as_raw_fd();
        self.io
            .registration()
            .try_io(Interest::WRITABLE, || sys::send_vectored(fd, bufs))
    }

    /// Runs `f` once if `interest` is ready (clearing readiness when it
    /// returns `WouldBlock`), for syscalls this type does not wrap.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.registration().try_io(interest, f)
    }

    /// Waits for `interest` and runs `f` until it stops returning
    /// `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io.registration().async_io(interest, f).await
    }

    /// Receives data without consuming it.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .registration()
            .async_io(Interest::READABLE, || self.io.peek(buf))
            .await
    }

    /// Splits into borrowed halves usable concurrently (e.g. in `join!`),
    /// without locking.
    ///
    /// Note: with [`AsyncReadExt`](crate::io::AsyncReadExt) in scope,
    /// `stream.split()` resolves to that trait's by-value, lock-based
    /// `split`; write `TcpStream::split(&mut stream)` to get these halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split(self)
    }

    /// Splits into owned halves that can move to different tasks; dropping
    /// the write half shuts the write direction down. See
    /// [`OwnedReadHalf::reunite`].
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self)
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send(s.as_raw_fd(), buf))
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send_vectored(s.as_raw_fd(), bufs))
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write half down.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_std(Shutdown::Write))
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
