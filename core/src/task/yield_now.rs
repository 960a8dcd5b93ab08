//! `yield_now`: give the worker to other tasks once.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields execution back to the scheduler: other ready tasks run first,
/// including work waiting in the global queue; the yielding task is
/// re-queued once the worker has run out of other work or polled the
/// driver.
///
/// ```
/// let rt = runtime_core::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     runtime_core::task::yield_now().await;
/// });
/// ```
pub async fn yield_now() {
    struct YieldNow {
        yielded: bool,
    }
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            // On a scheduler thread the wake is deferred until the worker
            // has nothing else to run (its queues, the injection queue);
            // elsewhere it is immediate.
            crate::runtime::context::defer(cx.waker());
            Poll::Pending
        }
    }
    YieldNow { yielded: false }.await
}
