//! Tasks: the unit of work the scheduler runs.
//!
//! # Design
//!
//! A spawned future lives in ONE heap allocation, the task *cell*
//! (`raw.rs`): a non-generic header (state word, vtable, id, owned-list
//! links, join waker), the scheduler handle, and the *stage* (the future,
//! then its output). The cell never moves, which is what pins the future.
//!
//! ## State bits (`state.rs`)
//! `RUNNING`, `COMPLETE`, `NOTIFIED`, `JOIN_INTEREST`, `JOIN_WAKER`,
//! `CANCELLED` and a reference count share one `AtomicUsize`. Every
//! transition is one CAS returning a `#[must_use]` enum that tells the
//! caller what it now owns and must do.
//!
//! ## References
//! Each of these owns one reference: the scheduler's owned-task list, the
//! single `Notified` (queued or running), the `JoinHandle`, each
//! `AbortHandle`, each `Waker`. The last one to go frees the cell.
//!
//! ## Who may touch which field
//! - the future/output: the thread that set `RUNNING`; after `COMPLETE`, the
//!   `JoinHandle` (or the completer, if the handle is gone);
//! - the join waker: the `JoinHandle` while `JOIN_WAKER` is clear, the
//!   completer while it is set;
//! - list links: under the owning shard's mutex.
//!
//! ## Wakeups
//! A wake on an idle task sets `NOTIFIED` and submits a `Notified` to the
//! scheduler. A wake while the task runs only sets `NOTIFIED`; the poller
//! re-schedules the task exactly once when its poll returns `Pending`. A
//! task is therefore never queued twice and never polled by two threads.
//!
//! ## Cancellation
//! `abort()` sets `CANCELLED`; an idle task is also notified, so a worker
//! drops its future without polling it; a running task's future is dropped
//! when the current poll returns. Either way the `JoinHandle` yields a
//! cancelled `JoinError`.
//!
//! ## Shutdown protocol
//! The scheduler closes its `OwnedTasks` list (no task can be linked after)
//! and calls `shutdown` on every listed task: idle tasks are claimed and
//! their futures dropped on the calling runtime thread; running tasks are
//! marked `CANCELLED` and dropped by their poller. Queued `Notified`s are
//! then simply dropped (their tasks are already complete).
mod abort;
pub(crate) mod coop;
mod error;
mod harness;
mod id;
mod join;
mod join_set;
pub(crate) mod list;
pub(crate) mod raw;
mod scoped_set;
mod spawn;
mod state;
mod waker;
mod yield_now;

pub use abort::AbortHandle;
pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::JoinHandle;
pub use join_set::JoinSet;
pub use spawn::{spawn, spawn_blocking};
pub use yield_now::yield_now;

pub(crate) use raw::{Notified, Schedule, Task};
