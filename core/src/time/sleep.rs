//! [`Sleep`], [`sleep`] and [`sleep_until`].
use super::context;
use super::timer::TimerEntry;
use super::{Duration, Instant};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`; a duration too
/// large to add (such as `Duration::MAX`) sleeps until a far-future instant
/// (about 30 years away) instead of overflowing. The sleep completes no
/// earlier than its deadline, and, with a real clock, normally within about
/// a millisecond (the wheel's resolution) plus scheduling delay after it.
///
/// No work is done until the returned future is first polled.
///
/// # Panics
/// If called outside a runtime.
///
/// ```
/// use runtime_core::time::{sleep, Duration, Instant};
///
/// runtime_core::runtime::Runtime::new().unwrap().block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = context::current_or_panic();
    let now = Instant::from_std(handle.driver().clock.now());
    let deadline = now
        .checked_add(duration)
        .unwrap_or_else(|| far_future_from(now));
    Sleep::new(handle, deadline)
}

/// Waits until `deadline` is reached.
///
/// # Panics
/// If called outside a runtime.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(context::current_or_panic(), deadline)
}

pub(crate) fn far_future_from(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}

pin_project! {
    /// Future returned by [`sleep`] and [`sleep_until`].
    ///
    /// The timer lives inside this future (no allocation per timer): it is
    /// filed in the runtime's timing wheel on first poll and unlinked when
    /// the future is dropped. It is `!Unpin`; pin it (`std::pin::pin!`,
    /// `Box::pin`) to poll it by reference or to call [`Sleep::reset`].
    ///
    /// # Panics
    /// Polling it after its runtime has shut down panics.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Sleep {
        #[pin]
        entry: TimerEntry,
    }
}

impl Sleep {
    pub(crate) fn new(handle: context::RtHandle, deadline: Instant) -> Sleep {
        Sleep {
            entry: TimerEntry::new(handle, deadline),
        }
    }

    /// The instant at which the future completes.
    pub fn deadline(&self) -> Instant {
        self.entry.deadline()
    }

    /// Whether the deadline has been reached (as observed by the runtime's
    /// time driver, which fires timers).
    pub fn is_elapsed(&self) -> bool {
        self.entry.is_elapsed()
    }

    /// Sets a new deadline, earlier or later; the future completes at the
    /// new deadline even if it had already completed.
    ///
    /// ```
    /// use runtime_core::time::{sleep, Duration, Instant};
    ///
    /// runtime_core::runtime::Runtime::new().unwrap().block_on(async {
    ///     let mut s = std::pin::pin!(sleep(Duration::from_secs(3600)));
    ///     s.as_mut().reset(Instant::now() + Duration::from_millis(5));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().entry.reset(deadline, true);
    }

    /// Like `reset`, but filing in the wheel waits for the next poll
    /// (lock-free when the deadline moves later).
    pub(crate) fn reset_without_reregister(self: Pin<&mut Self>, deadline: Instant) {
        self.project().entry.reset(deadline, false);
    }

    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(crate::task::coop::poll_proceed(cx));
        match ready!(self.project().entry.poll_elapsed(cx)) {
            Ok(()) => {
                coop.made_progress();
                Poll::Ready(())
            }
            Err(e) => panic!("timer error: {e}"),
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_elapsed(cx)
    }
}

impl Sleep {
    /// Now, by the clock of this sleep's runtime.
    pub(crate) fn clock_now(&self) -> Instant {
        Instant::from_std(self.entry.handle().driver().clock.now())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn auto_traits_and_size() {
        assert_send_sync::<Sleep>();
        assert_send_sync::<super::super::Timeout<std::future::Ready<()>>>();
        assert_send_sync::<super::super::Interval>();
        // Memory per pending timer is the `Sleep` itself (no allocation):
        // a regression guard on its size.
        let size = std::mem::size_of::<Sleep>();
        assert!(size <= 96, "Sleep grew to {size} bytes");
    }
}
