//! Time: [`sleep()`], [`timeout()`], [`interval()`], a pausable clock, and the
//! hierarchical timing wheel behind them.
//!
//! ```
//! use runtime_core::time::{self, Duration};
//!
//! runtime_core::runtime::Runtime::new().unwrap().block_on(async {
//!     time::sleep(Duration::from_millis(1)).await;
//!     let r = time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
//!     assert!(r.is_err());
//! });
//! ```
//!
//! # Design
//! Each runtime has one time driver (`driver.rs`): a hierarchical timing
//! wheel of 6 levels × 64 slots at 1 ms resolution (`wheel.rs`, `level.rs`),
//! spanning about 2.2 years (further deadlines wait at the top level and are
//! re-filed once per rotation), sharded per thread, each shard behind its
//! own mutex. There is no timer thread: the worker that parks the runtime's
//! drivers asks the wheel for its next deadline, blocks in the I/O driver
//! until then, and fires what expired, waking tasks with the lock released.
//! A timer registered from any thread with an earlier deadline unparks it.
//!
//! Timers are intrusive (`entry.rs`, `timer.rs`): the wheel links the
//! `TimerShared` embedded in each pinned [`Sleep`], so creating, filing,
//! cancelling and firing a timer allocate nothing. A dropped `Sleep` unlinks
//! itself (O(1)); nothing is left behind in the wheel.
//!
//! Guarantees: a sleep never completes before its deadline (deadlines round
//! up to the next millisecond tick; "now" rounds down); timers of one shard
//! fire in tick order; a paused clock (`pause`, `Builder::start_paused`)
//! moves only through [`advance`] or auto-advance to the next timer when
//! the runtime has nothing else to do, so with it every timer fires exactly
//! at its (rounded-up) deadline.
//!
//! Hot-path costs per timer: creation takes no lock and allocates nothing;
//! the first poll takes one shard lock (and unparks the driver only if the
//! deadline is earlier than the one it sleeps until); postponing a filed
//! timer (`reset` later, `Interval`) is lock-free; cancellation takes the
//! shard lock once; firing is amortised under one lock per batch of 32
//! wakers; dropping a fired timer takes no lock.
mod atomic_waker;
mod clock;
mod context;
pub(crate) mod driver;
mod entry;
pub mod error;
mod instant;
mod interval;
mod level;
mod linked_list;
mod sleep;
mod source;
mod timeout;
mod timer;
mod wheel;

pub(crate) use clock::Clock;
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use timeout::{timeout, timeout_at, Timeout};

/// Panic message when a timer is created outside a runtime.
pub(crate) const NO_RUNTIME_MSG: &str =
    "there is no reactor running, must be called from the context of a runtime_core runtime";

/// Panic message when a timer is polled after its runtime shut down.
pub(crate) const SHUTDOWN_MSG: &str =
    "A runtime_core runtime was found, but it is being shut down: its timers can no longer fire";

/// Freezes the current runtime's clock.
///
/// Afterwards [`Instant::now`] stays put, and time moves only by
/// [`advance`] or, when the runtime has nothing else to do, by jumping to
/// the next timer's deadline ("auto-advance"), so tests of long timeouts
/// and intervals run instantly and deterministically. Use
/// `Builder::start_paused(true)` to start paused.
///
/// # Panics
/// If called outside a runtime, on a multi-thread runtime, or if the clock
/// is already paused.
///
/// ```
/// use runtime_core::time::{self, Duration, Instant};
///
/// let rt = runtime_core::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     time::pause();
///     let start = Instant::now();
///     time::sleep(Duration::from_secs(3600)).await; // instant
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
#[track_caller]
pub fn pause() {
    if context::current_is_multi_thread() {
        panic!(
            "`time::pause()` requires the current-thread runtime \
             (`Builder::new_current_thread()`); the multi-thread runtime's clock cannot be paused"
        );
    }
    match context::with_current_clock(|clock| clock.pause()) {
        Some(Ok(())) => {}
        Some(Err(msg)) => panic!("{msg}"),
        None => panic!("time cannot be frozen from outside a runtime_core runtime"),
    }
}

/// Unfreezes the current runtime's clock; time moves on from where it was
/// frozen.
///
/// # Panics
/// If called outside a runtime or if the clock is not paused.
#[track_caller]
pub fn resume() {
    match context::with_current_clock(|clock| clock.resume()) {
        Some(Ok(())) => {}
        Some(Err(msg)) => panic!("{msg}"),
        None => panic!("time cannot be unfrozen from outside a runtime_core runtime"),
    }
}

/// Moves the paused clock forward by `duration`, then yields so that timers
/// that came due fire before this returns to its caller's next step.
///
/// # Panics
/// If called outside a runtime or if the clock is not paused.
#[track_caller]
pub fn advance(duration: Duration) -> impl std::future::Future<Output = ()> {
    match context::with_current_clock(|clock| clock.advance(duration)) {
        Some(Ok(())) => {}
        Some(Err(msg)) => panic!("{msg}"),
        None => panic!("time cannot be advanced from outside a runtime_core runtime"),
    }
    crate::task::yield_now()
}

/// Number of timers registered in the current runtime's wheel and not yet
/// fired or cancelled. For tests (memory accounting); not a stable API.
///
/// # Panics
/// If called outside a runtime.
#[doc(hidden)]
#[track_caller]
pub fn registered_timers() -> usize {
    context::current_or_panic().driver().time.num_registered()
}
