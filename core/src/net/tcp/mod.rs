//! TCP: [`TcpListener`], [`TcpStream`] and its split halves.
mod listener;
pub(crate) mod split;
pub(crate) mod split_owned;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;
