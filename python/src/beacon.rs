//! `_Beacon`: a sequence number that threads can wait on for a few
//! microseconds with the GIL released, before they fall back to a blocking
//! wait.
//!
//! `Executor.submit(fn).result()` done one call after another costs, with
//! `threading` primitives alone, four thread wake-ups per call (the worker
//! woken for the item, the worker waiting for the GIL, the caller woken for
//! the result, the caller waiting for the GIL), each a futex call and a
//! context switch. A worker that has just finished an item, and a caller
//! that has just submitted one, are likely to see the next event within
//! microseconds: they watch a beacon instead (`spin_wait`), so the event
//! costs an atomic store and a load, and the thread that sees it takes the
//! GIL when the other side has already let it go.
//!
//! Invariants: `seq` only grows (wrapping); `signal` never blocks; a
//! `spin_wait` returns at the latest after its bound, whatever happens, so
//! callers always re-check their real condition under their own lock.
use pyo3::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// See the module docs.
#[pyclass(frozen, module = "runtime._runtime", name = "_Beacon")]
pub(crate) struct Beacon {
    seq: AtomicU64,
}

/// Rounds of `spin_loop` before a spinner also yields its CPU between
/// looks (a waiting thread must not starve the one it waits for on a
/// machine with few cores).
const PURE_SPINS: u32 = 64;

#[pymethods]
impl Beacon {
    #[new]
    fn new() -> Self {
        Beacon {
            seq: AtomicU64::new(0),
        }
    }

    /// The current sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Advances the sequence number: spinners watching it return.
    fn signal(&self) {
        self.seq.fetch_add(1, Ordering::Release);
    }

    /// Waits with the GIL released until the sequence number differs from
    /// `seen` or `seconds` passed (a negative or NaN bound waits not at
    /// all); returns the sequence number it saw last.
    fn spin_wait(&self, py: Python<'_>, seen: u64, seconds: f64) -> u64 {
        let now = self.seq.load(Ordering::Acquire);
        // A negative or NaN bound: no wait.
        let positive = seconds.partial_cmp(&0.0) == Some(std::cmp::Ordering::Greater);
        if now != seen || !positive {
            return now;
        }
        let bound = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_secs(1));
        crate::gil::allow_threads_until_exit(py, || {
            let start = Instant::now();
            let mut i = 0u32;
            loop {
                let s = self.seq.load(Ordering::Acquire);
                if s != seen {
                    return s;
                }
                if i < PURE_SPINS {
                    std::hint::spin_loop();
                    i += 1;
                    continue;
                }
                if start.elapsed() >= bound {
                    return s;
                }
                std::thread::yield_now();
            }
        })
    }
}
