//! Cooperative scheduling budget.
//!
//! A task that is always ready (a socket that always has data, a channel that
//! is never empty) would otherwise never return `Pending` and starve every
//! other task on its worker. The scheduler gives each task poll a *budget* of
//! [`BUDGET`] leaf operations; every leaf future (I/O read/write, timer,
//! channel receive, ...) calls [`poll_proceed`] first. Once the budget is
//! spent, `poll_proceed` wakes the task and returns `Pending`, forcing it back
//! to the scheduler, which polls other tasks before polling it again.
//!
//! Invariants:
//! - The budget lives in a thread-local and is only *constrained* while the
//!   scheduler is polling a task (see [`budget`]); anywhere else (a plain
//!   thread, another executor) `poll_proceed` always grants.
//! - A `RestoreOnPending` returned by `poll_proceed` gives the unit back if
//!   the leaf operation ends up `Pending` without making progress, so waiting
//!   never costs budget.
use super::scoped_set::ScopedSet;
use std::cell::Cell;
use std::task::{Context, Poll};

/// Leaf operations one task poll may perform before it must yield.
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    /// `None` = unconstrained; `Some(n)` = n units left for this poll.
    static CURRENT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (one task poll) with a fresh budget, restoring the previous
/// budget afterwards (polls can nest, e.g. `block_on` inside a task).
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Some(BUDGET), f)
}

/// Runs `f` with no budget constraint.
#[allow(dead_code)]
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(None, f)
}

fn with_budget<R>(b: Option<u8>, f: impl FnOnce() -> R) -> R {
    let _reset = ScopedSet::enter(&CURRENT, b);
    f()
}

/// Whether the current task poll still has budget left.
#[allow(dead_code)]
pub(crate) fn has_budget_remaining() -> bool {
    CURRENT.try_with(|c| c.get() != Some(0)).unwrap_or(true)
}

/// Consumes one unit of budget, or returns `Pending` (after waking the task)
/// when it is spent. Call at the top of a leaf future's `poll`.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let res = CURRENT.try_with(|c| match c.get() {
        None => Poll::Ready(RestoreOnPending(Cell::new(None))),
        Some(0) => Poll::Pending,
        Some(n) => {
            c.set(Some(n - 1));
            Poll::Ready(RestoreOnPending(Cell::new(Some(n - 1))))
        }
    });
    match res {
        Ok(Poll::Pending) => {
            crate::runtime::context::defer(cx.waker());
            Poll::Pending
        }
        Ok(ready) => ready,
        // Thread-local already destroyed (thread exit): don't constrain.
        Err(_) => Poll::Ready(RestoreOnPending(Cell::new(None))),
    }
}

/// Gives a budget unit back if dropped before [`made_progress`] was called.
///
/// [`made_progress`]: RestoreOnPending::made_progress
#[derive(Debug)]
#[must_use = "drop it only after deciding whether the operation made progress"]
pub(crate) struct RestoreOnPending(Cell<Option<u8>>);

impl RestoreOnPending {
    /// The leaf operation completed: keep the unit spent.
    pub(crate) fn made_progress(&self) {
        self.0.set(None);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(spent_to) = self.0.get() {
            let _ = CURRENT.try_with(|c| {
                if c.get() == Some(spent_to) {
                    c.set(Some(spent_to.saturating_add(1)));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    #[test]
    fn unconstrained_outside_scheduler() {
        let mut cx = Context::from_waker(noop_waker_ref());
        for _ in 0..10_000 {
            assert!(poll_proceed(&mut cx).is_ready());
        }
    }

    #[test]
    fn budget_runs_out_and_restores() {
        let mut cx = Context::from_waker(noop_waker_ref());
        budget(|| {
            for _ in 0..BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(r) => r.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(poll_proceed(&mut cx).is_pending());
            assert!(!has_budget_remaining());
        });
        // Outside the scheduler poll it is unconstrained again.
        assert!(has_budget_remaining());
        budget(|| {
            // A pending leaf operation gives its unit back.
            for _ in 0..(BUDGET as usize * 2) {
                let r = poll_proceed(&mut cx);
                assert!(r.is_ready());
                drop(r);
            }
        });
    }
}
