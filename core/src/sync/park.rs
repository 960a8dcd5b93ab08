//! Blocking a plain OS thread on one of this module's futures.
//!
//! Backs `blocking_lock`, `blocking_send`, `blocking_recv` & co: the future is
//! polled on the calling thread, whose waker sets a flag and unparks that
//! thread. Invariant: this is only for threads that are not driving async
//! tasks; blocking a runtime worker this way would stall every task queued
//! on it.
//!
//! Before parking, the thread spins briefly on the flag: hand-offs between
//! threads (a full channel, a contended lock) are usually answered within
//! microseconds, and catching the wake while still running turns the
//! waker's `unpark` into a plain atomic store instead of a futex wake-up.
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Spin iterations (with exponential `spin_loop` bursts, then yields)
/// before parking.
const SPINS: u32 = 10;

/// Runs `fut` to completion on the current thread, parking between polls.
///
/// # Panics
/// If the thread is driving a runtime (a worker, or inside `block_on`):
/// blocking it would stall its tasks, possibly the very one we wait for.
#[track_caller]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    if crate::runtime::is_driving() {
        panic!(
            "Cannot block the current thread from within a runtime. This happens because a \
             function attempted to block the current thread while the thread is being used to \
             drive asynchronous tasks. Use `spawn_blocking` or the async method instead."
        );
    }
    let tw = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(tw.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let mut spins = 0;
        while !tw.woken.swap(false, Ordering::Acquire) {
            if spins < SPINS {
                if spins < 6 {
                    for _ in 0..(1 << spins) {
                        std::hint::spin_loop();
                    }
                } else {
                    thread::yield_now();
                }
                spins += 1;
            } else {
                // Spurious unparks only cause an extra check of the flag.
                thread::park();
            }
        }
    }
}
