//! The combined driver a parked worker blocks in: timers layered over I/O.
//!
//! Exactly one thread at a time owns the [`Driver`] (the worker that parks
//! while holding the driver lock, or the `block_on` caller of a
//! current-thread runtime); every other thread reaches it through the
//! cloneable [`Handle`]: to register timers and I/O resources, and to
//! `unpark` the owner when new work arrives.
use std::time::Duration;

/// The blocking half; owned by one parked thread at a time.
#[derive(Debug)]
pub(crate) struct Driver {
    inner: crate::time::driver::Driver,
}

/// The shared half: how any thread reaches the I/O reactor, the timer wheel,
/// and the runtime's clock.
#[derive(Debug)]
pub(crate) struct Handle {
    /// The reactor (register fds, unpark the driver thread).
    pub(crate) io: crate::io::driver::Handle,
    /// The timer wheel (register timers).
    pub(crate) time: crate::time::driver::Handle,
    /// The runtime's (possibly paused) clock.
    pub(crate) clock: crate::time::Clock,
}

/// What building a driver needs.
#[derive(Debug, Clone)]
pub(crate) struct Cfg {
    pub(crate) event_interval_hint: usize,
    pub(crate) start_paused: bool,
    /// Timer-wheel shards: 1 for current-thread, the worker count for
    /// multi-thread (fewer lock collisions between workers).
    pub(crate) timer_shards: usize,
}

impl Driver {
    pub(crate) fn new(cfg: Cfg) -> std::io::Result<(Driver, Handle)> {
        let (io_driver, io_handle) = crate::io::driver::Driver::new(cfg.event_interval_hint)?;
        let clock = crate::time::Clock::new(cfg.start_paused);
        let (time_driver, time_handle) =
            crate::time::driver::Driver::with_shards(io_driver, &clock, cfg.timer_shards);
        Ok((
            Driver { inner: time_driver },
            Handle {
                io: io_handle,
                time: time_handle,
                clock,
            },
        ))
    }

    /// Blocks until woken by [`Handle::unpark`], an I/O event or a timer.
    pub(crate) fn park(&mut self, handle: &Handle) {
        self.inner.park(handle)
    }

    /// Like [`Driver::park`] but returns after at most `duration`
    /// (`Duration::ZERO` processes ready events without blocking).
    pub(crate) fn park_timeout(&mut self, handle: &Handle, duration: Duration) {
        self.inner.park_timeout(handle, duration)
    }

    /// Fires or cancels every timer and I/O registration, so that futures
    /// waiting on them observe shutdown instead of hanging.
    pub(crate) fn shutdown(&mut self, handle: &Handle) {
        self.inner.shutdown(handle)
    }
}

impl Handle {
    /// Wakes the thread parked in the driver; never lost.
    pub(crate) fn unpark(&self) {
        self.io.unpark();
    }
}
