//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with split
//! halves) and [`UnixDatagram`].
mod datagram;
mod listener;
pub(crate) mod split;
pub(crate) mod split_owned;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::UnixStream;
