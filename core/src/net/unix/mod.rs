//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with split
//! halves) and [`UnixDatagram`].
//!
//! Addresses are paths; on Linux a path starting with a NUL byte names an
//! abstract socket (see `addr`).
mod addr;
mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::{ReadHalf, UnixStream, WriteHalf};
