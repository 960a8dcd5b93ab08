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
//! is ever lost.
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
    inner: Arc<Inner>,
    shared: std::sync::Arc<SharedDriver>,
}

#[derive(Clone)]
pub(super) struct Unparker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(super) fn new(shared: std::sync::Arc<SharedDriver>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
            }),
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
        self.park_inner(handle, None)
    }

    /// Polls the driver without blocking, if it is free.
    pub(super) fn park_yield(&mut self, handle: &driver::Handle) {
        self.park_inner(handle, Some(Duration::ZERO))
    }

    fn park_inner(&mut self, handle: &driver::Handle, timeout: Option<Duration>) {
        let inner = &*self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if let Some(mut guard) = self.shared.driver.try_lock() {
            if let Some(driver) = guard.as_mut() {
                match inner
                    .state
                    .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
                {
                    Ok(_) => {}
                    Err(NOTIFIED) => {
                        inner.state.store(EMPTY, SeqCst);
                        return;
                    }
                    Err(s) => unreachable!("inconsistent park state {s}"),
                }
                match timeout {
                    Some(t) => driver.park_timeout(handle, t),
                    None => driver.park(handle),
                }
                inner.state.swap(EMPTY, SeqCst);
                return;
            }
        }
        if timeout.is_some() {
            return;
        }
        self.park_condvar();
    }

    fn park_condvar(&self) {
        let inner = &*self.inner;
        let mut g = inner.mutex.lock();
        match inner
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                inner.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("inconsistent park state {s}"),
        }
        loop {
            inner.condvar.wait(&mut g);
            if inner
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl Unparker {
    /// Wakes the worker however it sleeps; remembered if it is awake.
    pub(super) fn unpark(&self, handle: &driver::Handle) {
        match self.inner.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the mutex orders us after the parker's check.
                drop(self.inner.mutex.lock());
                self.inner.condvar.notify_one();
            }
            PARKED_DRIVER => handle.unpark(),
            s => unreachable!("inconsistent park state {s}"),
        }
    }
}
