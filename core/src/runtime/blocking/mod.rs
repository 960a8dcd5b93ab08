//! The blocking pool: threads for closures that block (file I/O, CPU-heavy
//! work, foreign libraries), kept apart from the async workers.
mod pool;
mod raw;
mod schedule;
mod task;
mod work;

pub(crate) use pool::{BlockingPool, PoolConfig, Spawner};
pub use raw::{CancelReason, RawBlockingWork};
pub(crate) use schedule::BlockingSchedule;
pub(crate) use task::BlockingTask;
pub use work::BlockingWork;
pub(crate) use work::Job;
