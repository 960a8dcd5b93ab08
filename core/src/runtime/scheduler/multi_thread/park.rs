//! Per-worker parking, with the shared driver.
//!
//! A worker with nothing to do parks here. If the shared driver is free it
//! takes it and blocks in the driver (epoll + timer deadline) — so exactly
//! one parked worker drives I/O and timers at a time; otherwise it sleeps on
//! its own condvar.
//!
//! State bits (per worker): `EMPTY`, `PARKED_CONDVAR`, `PARKED_DRIVER`,
//! `NOTIFIED`. `unpark` swaps in `NOTIFIED` and then wakes the sleeper the
//! way it is sleeping (condvar notify, or the driver's `unpark`). A
//! `NOTIFIED` left behind makes the next `park` return at once, so no wakeup
//! is ever lost. A zero-timeout poll of the driver (`park_yield`) never
//! sleeps and does not touch the state.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::runtime::driver::{self, Driver};
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The driver, shared by all workers; whoever holds the lock drives.
pub(super) struct SharedDriver {
    driver: Mutex<Option<Driver>>,
}

impl SharedDriver {
    pub(super) fn new(driver: Driver) -> SharedDriver {
        SharedDriver {
            driver: Mutex::new(Some(driver)),
        }
    }

    /// Shuts the driver down (blocking until no worker holds it).
    pub(super) fn shutdown(&self, handle: &driver::Handle) {
        if let Some(d) = self.driver.lock().as_mut() {
            d.shutdown(handle);
        }
    }
}

pub(super) struct Parker {
    inner: Arc<ParkState>,
    shared: std::sync::Arc<SharedDriver>,
}

#[derive(Clone)]
pub(super) struct Unparker {
    inner: Arc<ParkState>,
}

impl Parker {
    pub(super) fn new(shared: std::sync::Arc<SharedDriver>) -> Parker {
        Parker {
            inner: Arc::new(ParkState::new()),
            shared,
        }
    }

    pub(super) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Blocks until unparked (driving I/O and timers if the driver is free).
    pub(super) fn park(&mut self, handle: &driver::Handle) {
        let inner = &*self.inner;
        if inner.take_notification() {
            return;
        }
        if let Some(mut guard) = self.shared.driver.try_lock() {
            if let Some(driver) = guard.as_mut() {
                inner.park_driver(|| driver.park(handle));
                return;
            }
        }
        inner.park_condvar();
    }

    /// Polls the driver without blocking, if it is free.
    ///
    /// Never sleeps, so it leaves the sleep state alone (as Tokio's
    /// zero-timeout park does): an `unpark` meanwhile only leaves
    /// `NOTIFIED`, which the next `park` consumes and returns at once. A
    /// worker that yields every pass so skips three atomic read-modify-writes
    /// of its state per pass.
    pub(super) fn park_yield(&mut self, handle: &driver::Handle) {
        if let Some(mut guard) = self.shared.driver.try_lock() {
            if let Some(driver) = guard.as_mut() {
                driver.park_timeout(handle, Duration::ZERO);
            }
        }
    }
}

impl Unparker {
    /// Wakes the worker however it sleeps; remembered if it is awake.
    pub(super) fn unpark(&self, handle: &driver::Handle) {
        self.inner.unpark(|| handle.unpark());
    }
}

/// One worker's sleep state machine, whatever it sleeps in (its condvar, or
/// the driver through the closures given to [`park_driver`] and
/// [`unpark`]). Separate from [`Parker`] so that the loom model
/// (`tests::loom::park`) checks this very code with a fake driver.
///
/// Aligned to 128 bytes: each worker's state is written by its worker on
/// every park and by others on every unpark, and must not share a line with
/// a sibling's.
///
/// [`park_driver`]: ParkState::park_driver
/// [`unpark`]: ParkState::unpark
#[repr(align(128))]
pub(crate) struct ParkState {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl ParkState {
    pub(crate) fn new() -> ParkState {
        ParkState {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Consumes a pending notification: true if there was one (the caller
    /// must not sleep).
    pub(crate) fn take_notification(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
    }

    /// Sleeps in `drive` (the driver, which an `unpark` interrupts through
    /// its `wake_driver`) unless a notification came first; either way the
    /// notification is consumed.
    pub(crate) fn park_driver(&self, drive: impl FnOnce()) {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("inconsistent park state {s}"),
        }
        drive();
        self.state.swap(EMPTY, SeqCst);
    }

    /// Sleeps on the condvar until unparked.
    pub(crate) fn park_condvar(&self) {
        let mut g = self.mutex.lock();
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("inconsistent park state {s}"),
        }
        loop {
            self.condvar.wait(&mut g);
            if self.take_notification() {
                return;
            }
        }
    }

    /// Wakes the sleeper the way it sleeps (`wake_driver` if in the
    /// driver); remembered if it is awake.
    pub(crate) fn unpark(&self, wake_driver: impl FnOnce()) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the mutex orders us after the parker's check.
                drop(self.mutex.lock());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => wake_driver(),
            s => unreachable!("inconsistent park state {s}"),
        }
    }

    /// Whether the state is `EMPTY` (no sleeper, no pending notification).
    #[cfg(all(loom, test))]
    pub(crate) fn is_empty(&self) -> bool {
        self.state.load(SeqCst) == EMPTY
    }
}
