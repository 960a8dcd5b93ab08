//! [`Interval`]: a stream of evenly spaced ticks, with a choice of what to
//! do about ticks missed because the task was busy ([`MissedTickBehavior`]).
use super::sleep::{far_future_from, sleep_until, Sleep};
use super::{Duration, Instant};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Creates an interval whose first tick completes immediately and whose
/// following ticks come every `period`.
///
/// # Panics
/// If `period` is zero, or if called outside a runtime.
///
/// ```
/// use runtime_core::time::{interval, Duration};
///
/// runtime_core::runtime::Runtime::new().unwrap().block_on(async {
///     let mut iv = interval(Duration::from_millis(2));
///     let first = iv.tick().await; // immediate
///     let second = iv.tick().await;
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval::new(sleep_until(Instant::now()), period)
}

/// Creates an interval whose first tick completes at `start` and whose
/// following ticks come every `period`.
///
/// # Panics
/// If `period` is zero, or if called outside a runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval::new(sleep_until(start), period)
}

/// What an [`Interval`] does when ticks were missed (the task did not call
/// [`Interval::tick`] in time); say ticks were due at 100, 200, 300 ms but
/// the task came back only at 350 ms:
///
/// - [`Burst`](MissedTickBehavior::Burst) (default): the missed ticks fire
///   at once, one per `tick()` call, until it has caught up; the schedule
///   is kept: ticks due at 200, 300 return immediately, then 400, 500...
/// - [`Delay`](MissedTickBehavior::Delay): the next tick is one period after
///   the late one was observed: 350 then 450, 550...
/// - [`Skip`](MissedTickBehavior::Skip): missed ticks are skipped and the
///   schedule is kept: the next tick is the next multiple on it, 400, then
///   500...
///
/// A tick is considered missed when it is observed more than 5 ms late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire missed ticks as fast as possible until caught up.
    #[default]
    Burst,
    /// Restart the schedule one period after the late tick.
    Delay,
    /// Skip missed ticks; keep to the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick due at `timeout` but observed at `now`
    /// (a deadline past what `Instant` can hold means "never": far future).
    fn next_timeout(&self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        let next = match self {
            MissedTickBehavior::Burst => timeout.checked_add(period),
            MissedTickBehavior::Delay => now.checked_add(period),
            MissedTickBehavior::Skip => {
                // `late < period`, so `period - late` cannot underflow.
                let late = (now - timeout).as_nanos() % period.as_nanos();
                let late = u64::try_from(late)
                    .expect("too much time has elapsed since the interval was supposed to tick");
                now.checked_add(period - Duration::from_nanos(late))
            }
        };
        next.unwrap_or_else(|| far_future_from(now))
    }
}

/// A stream of ticks; see [`interval`] and [`interval_at`].
///
/// Holds one boxed [`Sleep`] (one allocation per interval, not per tick);
/// after each tick it is re-armed for the next deadline without taking the
/// wheel lock until the next `tick()` polls it.
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    fn new(delay: Sleep, period: Duration) -> Interval {
        Interval {
            delay: Box::pin(delay),
            period,
            missed_tick_behavior: MissedTickBehavior::default(),
        }
    }

    /// Completes at the next tick, returning the instant it was due at.
    /// Cancel-safe: dropping the future loses no tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; see [`Interval::tick`].
    ///
    /// When this returns `Pending`, the waker of `cx` is woken at the next
    /// tick (only the last waker passed is).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(self.delay.as_mut().poll(cx));
        let timeout = self.delay.deadline();
        let now = self.delay.clock_now();
        let next = if now > timeout + Duration::from_millis(5) {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            timeout
                .checked_add(self.period)
                .unwrap_or_else(|| far_future_from(now))
        };
        self.delay.as_mut().reset_without_reregister(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let now = self.delay.clock_now();
        let next = now
            .checked_add(self.period)
            .unwrap_or_else(|| far_future_from(now));
        self.delay.as_mut().reset(next);
    }

    /// Restarts the schedule: the next tick is now.
    pub fn reset_immediately(&mut self) {
        let now = self.delay.clock_now();
        self.delay.as_mut().reset(now);
    }

    /// Restarts the schedule: the next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        let now = self.delay.clock_now();
        let next = now
            .checked_add(after)
            .unwrap_or_else(|| far_future_from(now));
        self.delay.as_mut().reset(next);
    }

    /// Restarts the schedule: the next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// What the interval does about missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what the interval does about missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_timeout_semantics() {
        let t0 = Instant::from_std(std::time::Instant::now());
        let ms = Duration::from_millis;
        let timeout = t0 + ms(100);
        let now = t0 + ms(350);
        let p = ms(100);
        assert_eq!(
            MissedTickBehavior::Burst.next_timeout(timeout, now, p),
            t0 + ms(200)
        );
        assert_eq!(
            MissedTickBehavior::Delay.next_timeout(timeout, now, p),
            t0 + ms(450)
        );
        assert_eq!(
            MissedTickBehavior::Skip.next_timeout(timeout, now, p),
            t0 + ms(400)
        );
    }
}
