//! Timers: `call_later`, `call_at`, `call_every`, `sleep` and the clock
//! they share.
//!
//! The clock is `CLOCK_MONOTONIC`, the clock of `time.monotonic()` and of
//! asyncio's default `loop.time()`, so deadlines computed by Python code
//! line up with the runtime's.
use std::time::{Duration, Instant};

/// Seconds on `CLOCK_MONOTONIC`.
pub(crate) fn monotonic_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always
    // supported on the platforms this crate builds for.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Converts a delay in seconds into a duration: negative or NaN delays mean
/// "now", huge ones saturate.
pub(crate) fn delay_to_duration(delay: f64) -> Duration {
    if delay.is_nan() || delay <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(delay).unwrap_or(Duration::from_secs(86_400 * 365 * 30))
    }
}

/// The `Instant` that is `delay` seconds from now.
#[allow(dead_code)]
pub(crate) fn deadline_after(delay: f64) -> Instant {
    Instant::now() + delay_to_duration(delay)
}
