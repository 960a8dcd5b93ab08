//! How time's leaf futures find the current runtime's drivers.
//!
//! The only place in `time` that depends on the runtime's handle types.
use super::Clock;
use crate::runtime::context;
use crate::runtime::scheduler;

/// A cloneable reference to a runtime, kept by each timer so it can reach
/// the time driver (and unpark it) from any thread.
pub(crate) type RtHandle = scheduler::Handle;

/// The current runtime's handle, if called within a runtime.
pub(crate) fn try_current() -> Option<RtHandle> {
    context::with_current(|h| h.clone()).ok()
}

/// The current runtime's handle.
///
/// # Panics
/// Outside a runtime, with a message naming the cause.
#[track_caller]
pub(crate) fn current_or_panic() -> RtHandle {
    match try_current() {
        Some(h) => h,
        None => panic!("{}", super::NO_RUNTIME_MSG),
    }
}

/// Runs `f` with the current runtime's clock, if there is a runtime.
pub(crate) fn with_current_clock<R>(f: impl FnOnce(&Clock) -> R) -> Option<R> {
    context::with_current(|h| f(&h.driver().clock)).ok()
}

/// Whether the current runtime (if any) is the multi-thread flavor.
pub(crate) fn current_is_multi_thread() -> bool {
    context::with_current(|h| matches!(h, scheduler::Handle::MultiThread(_))).unwrap_or(false)
}
