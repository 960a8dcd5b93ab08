//! Support items for the crate's declarative macros (`join!`, `try_join!`,
//! `select!`). Not public API: everything here is `#[doc(hidden)]` and may
//! change at any time.
//!
//! The macros expand in the *user's* crate, so every path they need is
//! re-exported here and reached as `$crate::macros::support::...`; the
//! expansion never relies on what the user has imported.
//!
//! Invariants:
//! - [`thread_rng_n`] is cheap (a thread-local generator, no locking) and never
//!   panics for `n > 0`; it is only used to pick the branch `select!` polls
//!   first, so its quality only needs to be "fair over many calls".
//! - [`poll_budget_available`] never consumes budget: it only reports whether
//!   the current task poll has budget left, waking the task when it has not.

pub use core::future::{Future, IntoFuture};
pub use core::pin::{pin, Pin};
pub use core::task::{Context, Poll};
pub use futures_util::future::{maybe_done, MaybeDone};
pub use std::future::poll_fn;

pub use runtime_core_macros::{
    select_priv_clean_pattern, select_priv_count, select_priv_declare_output_enum,
    select_priv_variant,
};

/// Returns a pseudo-random number in `0..n` from a thread-local generator.
///
/// `n` must be non-zero (every `select!` has at least one branch).
#[doc(hidden)]
#[inline]
pub fn thread_rng_n(n: u32) -> u32 {
    fastrand::u32(..n)
}

/// `Ready(())` when the current task still has cooperative budget left.
///
/// When the budget is spent, wakes the task and returns `Pending`, so that a
/// `select!` whose branches are all always ready (and not budget-aware
/// themselves) still yields to the scheduler. Outside a runtime task the
/// budget is unconstrained and this is always `Ready`.
#[doc(hidden)]
#[inline]
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if crate::task::coop::has_budget_remaining() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_in_range_and_covers_it() {
        let mut seen = [false; 7];
        for _ in 0..1_000 {
            let v = thread_rng_n(7);
            assert!(v < 7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "some value never drawn: {seen:?}");
        for _ in 0..100 {
            assert_eq!(thread_rng_n(1), 0);
        }
    }

    #[test]
    fn budget_exhaustion_is_reported_and_wakes_the_task() {
        use crate::task::coop;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        struct CountWakes(AtomicUsize);
        impl futures_util::task::ArcWake for CountWakes {
            fn wake_by_ref(arc_self: &Arc<Self>) {
                arc_self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = futures_util::task::waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        coop::budget(|| {
            assert!(poll_budget_available(&mut cx).is_ready());
            // Spend the whole budget the way leaf futures do.
            while let Poll::Ready(restore) = coop::poll_proceed(&mut cx) {
                restore.made_progress();
            }
            let wakes_before = wakes.0.load(Ordering::SeqCst);
            assert!(poll_budget_available(&mut cx).is_pending());
            assert_eq!(wakes.0.load(Ordering::SeqCst), wakes_before + 1);
        });
    }

    #[test]
    fn budget_always_available_outside_scheduler() {
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        assert!(poll_budget_available(&mut cx).is_ready());
    }
}
