//! Blocking a plain OS thread on one of this module's futures.
//!
//! Backs `blocking_lock`, `blocking_send`, `blocking_recv` & co: the future is
//! polled on the calling thread, whose waker unparks that thread. Invariant:
//! this is only for threads that are not driving async tasks; blocking a
//! runtime worker this way would stall every task queued on it.
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on the current thread, parking between polls.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        // Spurious unparks only cause an extra poll.
        thread::park();
    }
}
