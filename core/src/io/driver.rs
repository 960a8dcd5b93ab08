//! The I/O driver contract used by the scheduler's parking.
//!
//! TEMPORARY STAND-IN: a condvar park with the same interface as the mio
//! reactor that replaces it. The scheduler relies only on:
//! - `Driver::new(nevents) -> io::Result<(Driver, Handle)>`
//! - `Driver::park_timeout(&mut self, &Handle, Option<Duration>)`: block until
//!   `Handle::unpark`, an I/O event, or the timeout (`Some(ZERO)` = poll);
//! - `Driver::shutdown(&mut self, &Handle)`;
//! - `Handle::unpark(&self)`: callable from any thread, never lost (an unpark
//!   before the park makes the next park return at once);
//! - `Handle::did_wake(&self) -> bool`: whether `unpark` was called since the
//!   last `did_wake` (used by the paused clock to know if the runtime is idle).
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Owns the blocking part of the driver; held by exactly one parked worker.
#[derive(Debug)]
pub(crate) struct Driver {
    _private: (),
}

/// Shared, cloneable access to the driver from any thread.
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    notified: Mutex<bool>,
    condvar: Condvar,
    did_wake: AtomicBool,
}

impl Driver {
    pub(crate) fn new(_nevents: usize) -> std::io::Result<(Driver, Handle)> {
        Ok((
            Driver { _private: () },
            Handle {
                inner: Arc::new(Inner {
                    notified: Mutex::new(false),
                    condvar: Condvar::new(),
                    did_wake: AtomicBool::new(false),
                }),
            },
        ))
    }

    pub(crate) fn park_timeout(&mut self, handle: &Handle, timeout: Option<Duration>) {
        let mut n = handle.inner.notified.lock();
        if !*n {
            match timeout {
                Some(d) if d.is_zero() => {}
                Some(d) => {
                    let _ = handle.inner.condvar.wait_for(&mut n, d);
                }
                None => {
                    while !*n {
                        handle.inner.condvar.wait(&mut n);
                    }
                }
            }
        }
        *n = false;
    }

    pub(crate) fn shutdown(&mut self, _handle: &Handle) {}
}

impl Handle {
    pub(crate) fn unpark(&self) {
        self.inner.did_wake.store(true, Ordering::SeqCst);
        let mut n = self.inner.notified.lock();
        *n = true;
        drop(n);
        self.inner.condvar.notify_one();
    }

    pub(crate) fn did_wake(&self) -> bool {
        self.inner.did_wake.swap(false, Ordering::SeqCst)
    }
}
