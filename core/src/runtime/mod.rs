//! The runtime: schedulers, drivers, the blocking pool, and the
//! [`Runtime`] / [`Builder`] / [`Handle`] API.
//!
//! Two flavors share every other piece: the multi-thread work-stealing
//! scheduler (default) and the current-thread scheduler. Both always run
//! the time and I/O drivers; the blocking pool serves `spawn_blocking`.
pub(crate) mod blocking;
mod builder;
pub(crate) mod context;
pub(crate) mod driver;
mod handle;
mod metrics;
pub(crate) mod park;
#[allow(clippy::module_inception)]
mod runtime;
pub(crate) mod scheduler;

pub use blocking::{BlockingWork, CancelReason, RawBlockingWork};
pub use builder::{Builder, RuntimeFlavor, MAX_WORKER_THREADS};
pub use context::TryCurrentError;
pub use handle::{EnterGuard, Handle};
pub use metrics::RuntimeMetrics;
pub use runtime::Runtime;
use runtime::Scheduler;

/// Whether the calling thread is driving a runtime: a worker thread, or a
/// thread inside `block_on`. Blocking such a thread (waiting on a lock, a
/// channel, a `JoinHandle` synchronously) stalls every task it runs and can
/// deadlock; bindings use this to refuse blocking waits there.
///
/// ```
/// let rt = runtime_core::runtime::Runtime::new().unwrap();
/// assert!(!runtime_core::runtime::is_driving());
/// assert!(rt.block_on(async { runtime_core::runtime::is_driving() }));
/// ```
pub fn is_driving() -> bool {
    context::is_entered()
}
