//! The runtime's clock. TEMPORARY STAND-IN (see `time::driver`).
use std::time::Instant;

/// Source of "now" for one runtime; pausable for tests.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    _start_paused: bool,
}

impl Clock {
    pub(crate) fn new(start_paused: bool) -> Clock {
        Clock {
            _start_paused: start_paused,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::now()
    }

    /// Called while a `spawn_blocking` task runs on a paused runtime.
    pub(crate) fn inhibit_auto_advance(&self) {}

    /// Undoes one `inhibit_auto_advance`.
    pub(crate) fn allow_auto_advance(&self) {}
}
