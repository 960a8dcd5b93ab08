//! `yield_now`: give the worker to other tasks once.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields execution back to the scheduler: the current task is re-queued at
/// the back of its worker's queue and other ready tasks run first.
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
            // Waking while running makes the scheduler re-queue this task
            // via `yield_now` (back of the queue) once this poll returns.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow { yielded: false }.await
}
