//! Asynchronous I/O: the reactor, [`AsyncFd`], and the futures-io traits.
//!
//! The runtime has one reactor (a `mio::Poll`) shared by all its threads;
//! the worker that parks while driving timers also blocks in the reactor,
//! with the next timer deadline as its timeout. Sockets
//! ([`crate::net`]) and [`AsyncFd`] register their file descriptors with
//! it and wait for edge-triggered readiness.
//!
//! Reading and writing use the `futures-io` traits, re-exported here with
//! their extension traits and helpers from `futures-util`, so crates of
//! the futures-io ecosystem work unchanged:
//!
//! ```
//! # let rt = runtime_core::runtime::Runtime::new().unwrap();
//! # rt.block_on(async {
//! use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
//! use runtime_core::net::UnixStream;
//!
//! let (mut a, mut b) = UnixStream::pair()?;
//! a.write_all(b"ping").await?;
//! let mut buf = [0u8; 4];
//! b.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"ping");
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! Module map (crate-internal):
//! - `driver`: the reactor (`Driver` parks, `Handle` registers/unparks);
//! - `registration_set`: who keeps each entry's memory, and until when;
//! - `hook_slot`: an entry's event hook, detachable at release;
//! - `fork`: which process generation this is (a driver serves only its own);
//! - `scheduled_io`: one registration's readiness word and waiters;
//! - `registration` / `poll_evented`: the edge-triggered I/O loops every
//!   resource type is built from;
//! - `context`: finding the current runtime's reactor.
mod async_fd;
pub(crate) mod context;
pub(crate) mod driver;
mod fork;
mod hook_slot;
mod interest;
mod level;
pub(crate) mod poll_evented;
mod ready;
pub(crate) mod registration;
mod registration_set;
pub(crate) mod scheduled_io;

pub use async_fd::{
    AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, ReportedReady, TryIoError,
};
pub use hook_slot::EventHook;
pub use interest::Interest;
pub use ready::Ready;

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_util::io::{
    copy, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter, ReadHalf,
    ReuniteError, WriteHalf,
};

/// Which process generation this is (changes in the child of every
/// `fork`; one atomic load). Not public API: the Python module's fork
/// checks share the reactor's.
#[doc(hidden)]
pub fn __process_generation() -> u64 {
    fork::generation()
}

/// The number of live registrations in the current runtime's reactor
/// (`None` outside a runtime). Not public API: used by tests to prove that
/// resources release their entries.
#[doc(hidden)]
pub fn __registration_count() -> Option<usize> {
    context::current().ok().map(|h| h.num_registrations())
}

/// Splits any `AsyncRead + AsyncWrite` value into halves usable from two
/// tasks (a lock arbitrates; prefer the sockets' own `into_split`).
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    AsyncReadExt::split(stream)
}

#[cfg(test)]
mod driver_tests;
#[cfg(test)]
pub(crate) mod test_support;
