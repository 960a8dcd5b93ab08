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

pub use builder::{Builder, RuntimeFlavor};
pub use context::TryCurrentError;
pub use handle::{EnterGuard, Handle};
pub use metrics::RuntimeMetrics;
pub use runtime::Runtime;
use runtime::Scheduler;
