//! `BlockingTask`: a closure wrapped as a future that completes on its
//! first poll, so blocking work reuses the task cell, `JoinHandle` and
//! cancellation machinery unchanged.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs its closure to completion the first time it is polled.
pub(crate) struct BlockingTask<F> {
    func: Option<F>,
}

impl<F> BlockingTask<F> {
    pub(crate) fn new(func: F) -> BlockingTask<F> {
        BlockingTask { func: Some(func) }
    }
}

// The closure is never pinned-projected: it is moved out by value.
impl<F> Unpin for BlockingTask<F> {}

impl<F, R> Future for BlockingTask<F>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let func = self
            .func
            .take()
            .expect("blocking task polled after it completed");
        // Blocking work must not be cut short by the async budget.
        Poll::Ready(crate::task::coop::with_unconstrained(func))
    }
}
