//! # runtime-core
//!
//! The Rust heart of `runtime`: an asynchronous runtime with reference-counted
//! tasks, a multi-thread work-stealing scheduler, a current-thread scheduler, a
//! hierarchical timing wheel, a `mio` reactor, a blocking pool, and the
//! synchronisation primitives and channels async code needs.
//!
//! The same runtime is exposed to C (`libruntime.so`) and Python (`runtime`);
//! this crate is what both bind.
//!
//! ```
//! let rt = runtime_core::runtime::Runtime::new().unwrap();
//! let answer = rt.block_on(async {
//!     let h = runtime_core::spawn(async { 6 * 7 });
//!     h.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```
//!
//! ## Invariants the crate keeps
//! - A task is polled by at most one thread at a time, and a wake that arrives
//!   while it runs re-schedules it exactly once (see [`task`]).
//! - Every spawned task is either completed, or its future is dropped on a
//!   runtime thread when the runtime shuts down; nothing is leaked.
//! - No thread spins while the runtime is idle: idle workers park, and exactly
//!   one of them drives timers and I/O.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod loom;

/// The runtime's blocking locks (std-backed, so that a forked child can
/// use fresh ones); shared with the Python binding, not public API.
#[doc(hidden)]
pub mod locks;

#[macro_use]
#[doc(hidden)]
pub mod macros;

pub mod io;
pub mod net;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;

pub use crate::task::{spawn, spawn_blocking};

/// Crate-internal tests that need private items: Miri-checked unit tests
/// of the unsafe code and loom models (`RUSTFLAGS="--cfg loom"`).
#[cfg(test)]
mod tests;
pub use runtime_core_macros::{main, test};

/// Re-exports of the futures ecosystem's stream trait and combinators.
pub mod stream {
    pub use futures_core::Stream;
    pub use futures_util::StreamExt;
}

#[doc(hidden)]
pub mod __private {
    //! Items used by this crate's macros; not public API.
    pub use futures_util;
}
