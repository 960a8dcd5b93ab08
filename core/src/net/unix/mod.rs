//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with split
//! halves) and [`UnixDatagram`].
mod datagram;
mod listener;
mod split;
mod split_owned;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use split::{ReadHalf, WriteHalf};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::UnixStream;
