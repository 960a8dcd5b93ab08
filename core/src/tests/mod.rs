//! Crate-internal tests of the unsafe and concurrent core: task cells,
//! wakers, the join/abort protocol, the owned-task list, and parking.
//!
//! Two families live here:
//! - plain unit tests (`task_*`, `list_*`), which drive task cells by hand on
//!   a mock scheduler ([`mock`]) and are meant to run clean under Miri
//!   (`cargo +nightly miri test -p runtime-core --lib tests`); they touch no
//!   epoll, no timers and no real parking, so Miri can interpret them;
//! - loom models (`loom::*`, only under `--cfg loom`), which explore the
//!   interleavings of the same protocols between threads.
//!
//! Invariant of every test: it leaves no task cell allocated (the mock
//! scheduler counts live cells through its `Arc`'s strong count, and Miri's
//! leak checker catches anything missed).
pub(crate) mod mock;

#[cfg(not(loom))]
mod list_owned;
#[cfg(not(loom))]
mod task_abort;
#[cfg(not(loom))]
mod task_basic;
#[cfg(not(loom))]
mod task_panic;
#[cfg(not(loom))]
mod task_shutdown;
#[cfg(not(loom))]
mod task_threads;

#[cfg(loom)]
mod loom;
