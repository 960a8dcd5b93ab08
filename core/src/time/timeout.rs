//! [`Timeout`], [`timeout`] and [`timeout_at`]: bound the time a future may
//! take.
use super::error::Elapsed;
use super::sleep::{far_future_from, Sleep};
use super::{context, Duration, Instant};
use crate::task::coop;
use pin_project_lite::pin_project;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Requires `future` to complete within `duration`.
///
/// Resolves to `Ok(output)` if it does, `Err(Elapsed)` if the duration
/// passes first (the future is then dropped with the `Timeout`). The future
/// is polled before the timer, so a future that is ready at once completes
/// even with a zero duration; the timer is only filed in the wheel if the
/// future is pending. A duration too large to add never elapses.
///
/// # Panics
/// If called outside a runtime.
///
/// ```
/// use runtime_core::time::{timeout, Duration};
///
/// runtime_core::runtime::Runtime::new().unwrap().block_on(async {
///     assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
///     let never = std::future::pending::<()>();
///     assert!(timeout(Duration::from_millis(5), never).await.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let handle = context::current_or_panic();
    let now = Instant::from_std(handle.driver().clock.now());
    let deadline = now
        .checked_add(duration)
        .unwrap_or_else(|| far_future_from(now));
    Timeout::new(future.into_future(), Sleep::new(handle, deadline))
}

/// Requires `future` to complete before `deadline`; see [`timeout`].
///
/// # Panics
/// If called outside a runtime.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    let handle = context::current_or_panic();
    Timeout::new(future.into_future(), Sleep::new(handle, deadline))
}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<T> {
        #[pin]
        value: T,
        #[pin]
        delay: Sleep,
    }
}

impl<T> Timeout<T> {
    pub(crate) fn new(value: T, delay: Sleep) -> Timeout<T> {
        Timeout { value, delay }
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Consumes the `Timeout`, returning the wrapped future.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.project();
        let had_budget_before = coop::has_budget_remaining();
        if let Poll::Ready(v) = me.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let has_budget_now = coop::has_budget_remaining();
        let delay = me.delay;
        let poll_delay = || match delay.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        };
        if had_budget_before && !has_budget_now {
            // The inner future spent the budget: still let the timer fire,
            // or a future that is always busy could never time out.
            coop::with_unconstrained(poll_delay)
        } else {
            poll_delay()
        }
    }
}
