//! The time driver contract used by the scheduler's parking.
//!
//! TEMPORARY STAND-IN that only forwards to the I/O driver. The scheduler
//! relies only on:
//! - `Driver::new(io::driver::Driver, &Clock) -> (Driver, Handle)`
//! - `Driver::park(&mut self, &runtime::driver::Handle)`: block until unpark,
//!   I/O, or the next timer deadline; fire expired timers before returning;
//! - `Driver::park_timeout(&mut self, &runtime::driver::Handle, Duration)`;
//! - `Driver::shutdown(&mut self, &runtime::driver::Handle)`: fire/cancel all
//!   timers so pending `Sleep`s observe shutdown.
use crate::runtime::driver::Handle as DriverHandle;
use crate::time::Clock;
use std::time::Duration;

/// Owns the timing wheel's processing; held by the parked worker that drives.
#[derive(Debug)]
pub(crate) struct Driver {
    park: crate::io::driver::Driver,
}

/// Shared access to the timer wheel from any thread.
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    _private: (),
}

impl Driver {
    pub(crate) fn new(park: crate::io::driver::Driver, _clock: &Clock) -> (Driver, Handle) {
        (Driver { park }, Handle { _private: () })
    }

    pub(crate) fn park(&mut self, handle: &DriverHandle) {
        self.park.park_timeout(&handle.io, None);
    }

    pub(crate) fn park_timeout(&mut self, handle: &DriverHandle, duration: Duration) {
        self.park.park_timeout(&handle.io, Some(duration));
    }

    pub(crate) fn shutdown(&mut self, handle: &DriverHandle) {
        self.park.shutdown(&handle.io);
    }
}
