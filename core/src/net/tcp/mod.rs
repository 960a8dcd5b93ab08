//! TCP: [`TcpListener`], [`TcpStream`] and its split halves.
mod listener;
mod split;
mod split_owned;
mod stream;

pub use listener::TcpListener;
pub use split::{ReadHalf, WriteHalf};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;
