//! Synchronisation primitives and channels for async code.
//!
//! Everything here is runtime-agnostic: waiting is done only through
//! [`Waker`](std::task::Waker)s, so these types work from this crate's
//! runtimes, from any other executor, and (through the `blocking_*` methods)
//! from plain threads.
//!
//! - Locks and coordination: [`Mutex`], [`RwLock`], [`Semaphore`],
//!   [`Notify`], [`Barrier`].
//! - Channels: [`mpsc`] (bounded and unbounded), [`oneshot`], [`broadcast`],
//!   [`watch`].
//!
//! Every waiting operation documents its cancel safety in a `# Cancel safety`
//! section. All of them share one building block, a FIFO wait list with O(1)
//! removal (`wait_list`), and the locks and bounded channel share one fair
//! batch semaphore (`batch_semaphore`).
//!
//! Verification: unit tests in these modules run under Miri
//! (`cargo +nightly miri test -p runtime-core --lib sync`), `loom_tests`
//! model-checks the lock-free protocols
//! (`RUSTFLAGS="--cfg loom" cargo test -p runtime-core --lib --release sync::loom_tests`),
//! and `core/tests/sync_*.rs` test each primitive's behaviour.

mod atomic_waker;
mod barrier;
pub(crate) mod batch_semaphore;
mod error;
mod mutex;
mod notify;
mod park;
mod rwlock;
mod semaphore;
pub(crate) mod wait_list;

#[cfg(all(test, loom))]
mod loom_tests;

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use error::{AcquireError, TryAcquireError, TryLockError};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard};
pub use notify::{Notified, Notify};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
