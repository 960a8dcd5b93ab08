//! The core runtime behind a `runtime.Runtime`: building it from the
//! constructor's arguments, the driver thread of the `current_thread`
//! flavor, and shutting both down.
//!
//! Invariants: the driver thread is the only other owner of the core
//! runtime (`Live::rt`), so once it has been joined the runtime can be
//! unwrapped and shut down; shutting down waits for blocking work and
//! must run with the GIL released (runtime threads may need it).
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use runtime_core::locks::Mutex;
use runtime_core::runtime::{Builder, Runtime as CoreRuntime};

/// Wakes the current-thread driver when the runtime shuts down.
#[derive(Default)]
struct StopSignal {
    stopped: AtomicBool,
    waker: AtomicWaker,
}

struct Stopped(Arc<StopSignal>);

impl Future for Stopped {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.waker.register(cx.waker());
        if self.0.stopped.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

struct Driver {
    stop: Arc<StopSignal>,
    thread: std::thread::JoinHandle<()>,
}

/// Runs `live.shutdown(timeout)` on a new `runtime-shutdown` thread, then
/// `done()`. If no thread can be started, `live` comes back with the error:
/// the caller must not drop it while holding the GIL (dropping waits,
/// unbounded, for blocking tasks that may need the GIL).
pub(super) fn shutdown_on_helper_thread(
    live: Live,
    timeout: Duration,
    done: impl FnOnce() + Send + 'static,
) -> Result<(), (Live, std::io::Error)> {
    // `live` travels through a slot so that a failed spawn (which drops the
    // closure) leaves it here.
    let slot = Arc::new(Mutex::new(Some(live)));
    let slot2 = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("runtime-shutdown".into())
        .spawn(move || {
            if let Some(live) = slot2.lock().take() {
                live.shutdown(timeout);
            }
            done();
        });
    match spawned {
        Ok(_) => Ok(()),
        Err(e) => Err((slot.lock().take().expect("the thread never ran"), e)),
    }
}

/// The core runtime a `Runtime` owns while it is open, and the driver
/// thread of a `current_thread` one.
pub(super) struct Live {
    pub(super) rt: Arc<CoreRuntime>,
    driver: Option<Driver>,
}

impl Live {
    /// Builds the runtime `Runtime(workers, max_blocking, flavor, *,
    /// thread_name)` describes (`ValueError` for a bad argument, `OSError`
    /// when threads cannot be started), and its flavor's name.
    pub(super) fn build(
        py: Python<'_>,
        workers: Option<usize>,
        max_blocking: Option<usize>,
        flavor: &str,
        thread_name: Option<String>,
    ) -> PyResult<(Live, &'static str)> {
        let (mut builder, flavor) = match flavor {
            "multi_thread" => (Builder::new_multi_thread(), "multi_thread"),
            "current_thread" => (Builder::new_current_thread(), "current_thread"),
            other => {
                return Err(PyValueError::new_err(format!(
                    "flavor must be 'multi_thread' or 'current_thread', not {other:?}"
                )))
            }
        };
        if let Some(w) = workers {
            if w == 0 {
                return Err(PyValueError::new_err("workers must be greater than 0"));
            }
            if w > runtime_core::runtime::MAX_WORKER_THREADS {
                return Err(PyValueError::new_err(format!(
                    "workers must be at most {}",
                    runtime_core::runtime::MAX_WORKER_THREADS
                )));
            }
            if flavor == "current_thread" && w != 1 {
                return Err(PyValueError::new_err(
                    "a current_thread runtime has exactly one worker",
                ));
            }
            if flavor == "multi_thread" {
                builder.worker_threads(w);
            }
        }
        if let Some(b) = max_blocking {
            if b == 0 {
                return Err(PyValueError::new_err("max_blocking must be greater than 0"));
            }
            builder.max_blocking_threads(b);
        }
        // Thread names are C strings (the OS keeps their first 15 bytes).
        if thread_name.as_deref().is_some_and(|n| n.contains('\0')) {
            return Err(PyValueError::new_err("thread_name must not contain NUL"));
        }
        builder.thread_name(thread_name.as_deref().unwrap_or("runtime-worker"));
        let rt = Arc::new(
            py.allow_threads(|| builder.build())
                .map_err(crate::errors::os_error)?,
        );
        let driver = if flavor == "current_thread" {
            let stop = Arc::new(StopSignal::default());
            let (rt2, stop2) = (rt.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(thread_name.unwrap_or_else(|| "runtime-driver".into()))
                .spawn(move || rt2.block_on(Stopped(stop2)))
                .map_err(crate::errors::os_error)?;
            Some(Driver { stop, thread })
        } else {
            None
        };
        Ok((Live { rt, driver }, flavor))
    }

    /// Stops the driver thread and shuts the runtime down, waiting up to
    /// `timeout` for running blocking work (GIL must be released).
    pub(super) fn shutdown(self, timeout: Duration) {
        if let Some(d) = self.driver {
            d.stop.stopped.store(true, Ordering::Release);
            d.stop.waker.wake();
            let _ = d.thread.join();
        }
        match Arc::try_unwrap(self.rt) {
            Ok(rt) => rt.shutdown_timeout(timeout),
            Err(_) => unreachable!("only the driver thread shares the runtime"),
        }
    }
}
