//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with split
//! halves) and [`UnixDatagram`].
mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::{ReadHalf, UnixStream, WriteHalf};
