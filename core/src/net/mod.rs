//! TCP, UDP and Unix-domain sockets on the runtime's reactor.
//!
//! The types mirror `std::net` / `std::os::unix::net` (and Tokio): creating
//! one registers its socket with the current runtime's reactor (outside a
//! runtime that fails with an `io::Error`); stream types implement the
//! `futures-io` [`AsyncRead`](crate::io::AsyncRead) /
//! [`AsyncWrite`](crate::io::AsyncWrite) traits, with `poll_close` shutting
//! the write half down.
//!
//! Errors are the operating system's (`AddrInUse`, `ConnectionRefused`,
//! `ConnectionReset`, `BrokenPipe`, ...), never panics. Writes never raise
//! `SIGPIPE`: they use `send`/`sendmsg` with `MSG_NOSIGNAL`, so a vanished
//! peer surfaces as `BrokenPipe` and the process keeps serving others.
//!
//! Split halves live in [`tcp`] and [`unix`] (`tcp::OwnedReadHalf`, ...),
//! as in Tokio.
//!
//! Addresses: `bind`/`connect` take std's [`ToSocketAddrs`] and resolve
//! synchronously (instant for literal addresses; host names block the
//! calling thread on the system resolver), then try each address in turn.
//!
//! [`ToSocketAddrs`]: std::net::ToSocketAddrs
mod addr;
mod stream_api;
mod stream_core;
mod sys;
pub mod tcp;
mod udp;
pub mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

#[cfg(test)]
mod tests;
