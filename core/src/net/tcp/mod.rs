//! TCP: [`TcpListener`], [`TcpStream`] and its split halves.
mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::{ReadHalf, TcpStream, WriteHalf};
