//! Conversion between instants and the wheel's ticks (milliseconds since the
//! driver started).
//!
//! Deadlines round *up* to the next tick, "now" rounds *down*: a timer fires
//! when `now_tick >= deadline_tick`, which implies `now >= deadline`, so a
//! sleep never completes early. Ticks saturate at [`MAX_SAFE_TICK`].
use super::entry::MAX_SAFE_TICK;
use super::Clock;
use std::time::{Duration, Instant};

/// Maps instants to ticks for one driver.
#[derive(Debug, Clone)]
pub(crate) struct TimeSource {
    start_time: Instant,
}

impl TimeSource {
    pub(crate) fn new(clock: &Clock) -> TimeSource {
        TimeSource {
            start_time: clock.origin(),
        }
    }

    /// The first tick at or after `t`.
    pub(crate) fn deadline_to_tick(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.start_time);
        let ms = d
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)));
        ms.min(MAX_SAFE_TICK)
    }

    /// The last tick at or before `t` (0 for instants before the start).
    pub(crate) fn instant_to_tick(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.start_time);
        let ms = d
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()));
        ms.min(MAX_SAFE_TICK)
    }

    /// Length of `ticks` ticks.
    pub(crate) fn tick_to_duration(&self, ticks: u64) -> Duration {
        Duration::from_millis(ticks)
    }

    /// The current tick by `clock`.
    pub(crate) fn now(&self, clock: &Clock) -> u64 {
        self.instant_to_tick(clock.now())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        let clock = Clock::new(true);
        let ts = TimeSource::new(&clock);
        let s = ts.start_time;
        assert_eq!(ts.deadline_to_tick(s), 0);
        assert_eq!(ts.deadline_to_tick(s + Duration::from_millis(3)), 3);
        assert_eq!(ts.deadline_to_tick(s + Duration::from_micros(3001)), 4);
        assert_eq!(ts.instant_to_tick(s + Duration::from_micros(3999)), 3);
        assert_eq!(
            ts.instant_to_tick(s.checked_sub(Duration::from_millis(1)).unwrap_or(s)),
            0
        );
        assert_eq!(ts.deadline_to_tick(s + Duration::new(2, 1)), 2001);
        assert_eq!(ts.instant_to_tick(s + Duration::new(2, 999_999)), 2000);
        if let Some(far) = s.checked_add(Duration::from_secs(u64::MAX / 4)) {
            assert_eq!(ts.deadline_to_tick(far), MAX_SAFE_TICK);
        }
        assert_eq!(ts.tick_to_duration(7), Duration::from_millis(7));
        assert_eq!(ts.now(&clock), 0);
    }
}
