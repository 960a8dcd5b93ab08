//! Parking a plain thread until a waker fires: how `block_on` waits on a
//! thread that is not a runtime worker.
//!
//! Invariant: an `unpark` (wake) that happens before `park` is never lost:
//! the state word remembers it and the next `park` returns at once.
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug)]
pub(crate) struct ParkThread {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl ParkThread {
    pub(crate) fn new() -> ParkThread {
        ParkThread {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
            }),
        }
    }

    pub(crate) fn waker(&self) -> Waker {
        Waker::from(self.inner.clone())
    }

    /// Blocks until woken or until `deadline`.
    pub(crate) fn park_until(&self, deadline: Option<Instant>) {
        let inner = &*self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut g = inner.lock.lock();
        match inner.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                inner.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("inconsistent park state {s}"),
        }
        loop {
            match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    let _ = inner.cvar.wait_for(&mut g, d - now);
                }
                None => inner.cvar.wait(&mut g),
            }
            if inner
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
        // Timed out: clear PARKED unless a notify raced in.
        inner.state.swap(EMPTY, SeqCst);
    }
}

impl Wake for Inner {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders this notify after the parker's wait.
                drop(self.lock.lock());
                self.cvar.notify_one();
            }
            s => unreachable!("inconsistent park state {s}"),
        }
    }
}

thread_local! {
    static CACHED: ParkThread = ParkThread::new();
}

/// Polls `f` on this thread, parking between polls, until it completes or
/// `timeout` passes (`Err(())`). Uses a per-thread cached parker.
pub(crate) fn block_on<F: Future>(f: F, timeout: Option<Duration>) -> Result<F::Output, ()> {
    // A timeout too large for an `Instant` is no limit.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    CACHED.with(|park| {
        let waker = park.waker();
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = crate::task::coop::budget(|| f.as_mut().poll(&mut cx)) {
                return Ok(v);
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return Err(());
                }
            }
            park.park_until(deadline);
        }
    })
}
