//! How time's leaf futures find the current runtime's drivers.
//!
//! The only place in `time` that depends on the runtime's handle type.
use super::Clock;
use crate::loom::sync::Arc;
use crate::runtime::driver::Handle as DriverHandle;

/// A cloneable reference to a runtime, kept by each timer so it can reach
/// the time driver (and unpark it) from any thread.
///
/// TEMPORARY: stands in for `crate::runtime::Handle` until it lands.
#[derive(Debug, Clone)]
pub(crate) struct RtHandle(Arc<DriverHandle>);

impl RtHandle {
    /// The runtime's drivers.
    pub(crate) fn driver(&self) -> &DriverHandle {
        &self.0
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<RtHandle>> = const { std::cell::RefCell::new(None) };
}

/// TEMPORARY test harness: enter a stand-in runtime.
#[cfg(test)]
pub(crate) fn enter(h: Option<RtHandle>) {
    CURRENT.with(|c| *c.borrow_mut() = h);
}

#[cfg(test)]
pub(crate) fn new_rt_handle(h: DriverHandle) -> RtHandle {
    RtHandle(Arc::new(h))
}

/// The current runtime's handle, if called within a runtime.
pub(crate) fn try_current() -> Option<RtHandle> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `f` with the current runtime's clock, if there is a runtime.
pub(crate) fn with_current_clock<R>(f: impl FnOnce(&Clock) -> R) -> Option<R> {
    try_current().map(|h| f(&h.driver().clock))
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
