//! The runtime's clock: real time, or frozen time that tests advance by hand
//! or that the driver advances automatically when the runtime is idle.
//!
//! # Design
//! Time is `base + unfrozen.elapsed()` while running and `base` while
//! paused; pausing folds the elapsed part into `base`, so time never jumps
//! back. A clock that was never paused answers `now()` straight from
//! `std::time::Instant::now()` without taking its lock (`ever_paused` is
//! false), which keeps the unpaused hot path lock-free.
//!
//! Auto-advance: when the clock is paused and no `spawn_blocking` task is
//! running (`auto_advance_inhibit == 0`), the time driver, about to sleep
//! until the next timer, instead checks whether anything woke the runtime
//! and if not advances the clock to that timer (see `driver.rs`).
//!
//! Pausing is only allowed on clocks built with `enable_pausing` (the
//! current-thread runtime); the multi-thread runtime's clock refuses it.
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set once any clock in the process has been paused, so that
/// `time::Instant::now()` only looks up the current runtime's clock when a
/// paused clock can exist. (A plain std atomic: a one-way process-wide flag.)
static ANY_PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether any clock has ever been paused in this process.
pub(crate) fn any_paused() -> bool {
    ANY_PAUSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Source of "now" for one runtime; pausable for tests. Clones share state.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The clock's time at creation: the origin of the time driver's
    /// millisecond ticks.
    origin: Instant,
    /// Whether `pause` is allowed (current-thread runtimes).
    enable_pausing: bool,
    /// Set on the first pause, never cleared: `now()` must then read
    /// `state`, since `base` may differ from real time.
    ever_paused: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The clock's time when `unfrozen` was taken (or its frozen time).
    base: Instant,
    /// When the clock was last resumed; `None` while paused.
    unfrozen: Option<Instant>,
    /// Running `spawn_blocking` tasks: auto-advance is off while > 0.
    auto_advance_inhibit: usize,
}

/// Why a clock operation was refused (the panic message of the public API).
pub(crate) type ClockError = &'static str;

impl Clock {
    /// A clock that allows pausing (the current-thread runtime's), paused
    /// from the start if `start_paused`.
    pub(crate) fn new(start_paused: bool) -> Clock {
        Clock::with_pausing(start_paused, true)
    }

    /// A clock for which `enable_pausing == false` refuses `pause()` (the
    /// multi-thread runtime's).
    pub(crate) fn with_pausing(start_paused: bool, enable_pausing: bool) -> Clock {
        let now = Instant::now();
        let clock = Clock {
            inner: Arc::new(Inner {
                origin: now,
                enable_pausing,
                ever_paused: AtomicBool::new(false),
                state: Mutex::new(State {
                    base: now,
                    unfrozen: Some(now),
                    auto_advance_inhibit: 0,
                }),
            }),
        };
        if start_paused {
            assert!(
                enable_pausing,
                "start_paused is only supported on the current-thread runtime"
            );
            // Frozen at the origin itself.
            clock.inner.state.lock().unfrozen = None;
            ANY_PAUSED.store(true, std::sync::atomic::Ordering::Relaxed);
            clock.inner.ever_paused.store(true, Ordering::Release);
        }
        clock
    }

    /// The clock's time at creation (the time driver's tick origin).
    pub(crate) fn origin(&self) -> Instant {
        self.inner.origin
    }

    /// The clock's current time.
    pub(crate) fn now(&self) -> Instant {
        if !self.inner.ever_paused.load(Ordering::Acquire) {
            return Instant::now();
        }
        let state = self.inner.state.lock();
        match state.unfrozen {
            Some(unfrozen) => state.base + unfrozen.elapsed(),
            None => state.base,
        }
    }

    /// Freezes the clock.
    pub(crate) fn pause(&self) -> Result<(), ClockError> {
        if !self.inner.enable_pausing {
            return Err("`time::pause()` requires the current-thread runtime \
                        (`Builder::new_current_thread()`); \
                        the multi-thread runtime's clock cannot be paused");
        }
        let mut state = self.inner.state.lock();
        let unfrozen = state.unfrozen.ok_or("time is already frozen")?;
        let now = state.base + unfrozen.elapsed();
        // Freeze on the next whole millisecond since `origin` (a jump of
        // under 1 ms), so that durations in whole milliseconds from a
        // frozen `now` end exactly on a driver tick and timers fire exactly
        // at their deadline rather than up to 1 ms after it.
        let since = now.saturating_duration_since(self.inner.origin);
        let ms = since.as_nanos().div_ceil(1_000_000);
        state.base = u64::try_from(ms)
            .ok()
            .and_then(|ms| self.inner.origin.checked_add(Duration::from_millis(ms)))
            .unwrap_or(now);
        state.unfrozen = None;
        ANY_PAUSED.store(true, std::sync::atomic::Ordering::Relaxed);
        self.inner.ever_paused.store(true, Ordering::Release);
        Ok(())
    }

    /// Unfreezes the clock; time moves on from where it was frozen.
    pub(crate) fn resume(&self) -> Result<(), ClockError> {
        let mut state = self.inner.state.lock();
        if state.unfrozen.is_some() {
            return Err("time is not frozen");
        }
        state.unfrozen = Some(Instant::now());
        Ok(())
    }

    /// Moves a frozen clock forward by `d`.
    pub(crate) fn advance(&self, d: Duration) -> Result<(), ClockError> {
        let mut state = self.inner.state.lock();
        if state.unfrozen.is_some() {
            return Err("time is not frozen");
        }
        state.base = state
            .base
            .checked_add(d)
            .ok_or("advancing the clock overflowed `Instant`")?;
        Ok(())
    }

    /// Whether the clock is frozen.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_paused(&self) -> bool {
        self.inner.ever_paused.load(Ordering::Acquire) && self.inner.state.lock().unfrozen.is_none()
    }

    /// Whether the driver may advance the clock to the next timer when idle.
    pub(crate) fn can_auto_advance(&self) -> bool {
        if !self.inner.ever_paused.load(Ordering::Acquire) {
            return false;
        }
        let state = self.inner.state.lock();
        state.unfrozen.is_none() && state.auto_advance_inhibit == 0
    }

    /// Called while a `spawn_blocking` task runs on a paused runtime.
    pub(crate) fn inhibit_auto_advance(&self) {
        self.inner.state.lock().auto_advance_inhibit += 1;
    }

    /// Undoes one `inhibit_auto_advance`.
    pub(crate) fn allow_auto_advance(&self) {
        let mut state = self.inner.state.lock();
        state.auto_advance_inhibit = state.auto_advance_inhibit.saturating_sub(1);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn paused_clock_only_moves_by_advance() {
        let clock = Clock::new(true);
        assert!(clock.is_paused());
        assert!(clock.can_auto_advance());
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(3600)).unwrap();
        assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
        assert_eq!(clock.pause(), Err("time is already frozen"));
        clock.resume().unwrap();
        assert!(!clock.is_paused());
        assert!(clock.now() >= t0 + Duration::from_secs(3600));
        assert_eq!(
            clock.advance(Duration::from_secs(1)),
            Err("time is not frozen")
        );
        assert_eq!(clock.resume(), Err("time is not frozen"));
    }

    #[test]
    fn pause_snaps_to_whole_milliseconds_since_origin() {
        let clock = Clock::new(false);
        std::thread::sleep(Duration::from_micros(1500));
        let before = clock.now();
        clock.pause().unwrap();
        let after = Instant::now(); // real time, later than the freeze
        let frozen = clock.now();
        // Frozen at the first whole millisecond at or after the moment of
        // pausing, which lies between `before` and `after`.
        assert!(frozen >= before);
        assert!(frozen < after + Duration::from_millis(1));
        assert_eq!((frozen - clock.origin()).subsec_nanos() % 1_000_000, 0);
        let started_paused = Clock::new(true);
        assert_eq!(started_paused.now(), started_paused.origin());
    }

    #[test]
    fn inhibit_auto_advance_nests() {
        let clock = Clock::new(true);
        clock.inhibit_auto_advance();
        clock.inhibit_auto_advance();
        assert!(!clock.can_auto_advance());
        clock.allow_auto_advance();
        assert!(!clock.can_auto_advance());
        clock.allow_auto_advance();
        assert!(clock.can_auto_advance());
    }

    #[test]
    fn real_clock_and_refused_pause() {
        let clock = Clock::with_pausing(false, false);
        assert!(!clock.is_paused());
        assert!(!clock.can_auto_advance());
        let a = clock.now();
        assert!(clock.now() >= a);
        assert!(clock.pause().is_err());
    }
}
