//! Per-thread runtime context: which runtime `Handle::current()` returns,
//! and whether this thread is already driving a runtime (so a nested
//! `block_on` panics instead of deadlocking), and the yields it defers.
//!
//! Invariants: every setter returns a guard that restores the previous value
//! on drop, so contexts nest and unwind correctly. `DEFERRED_ANY` is true
//! whenever the thread's deferred list is non-empty, so a false flag lets
//! the scheduler skip the list on every park.
use super::scheduler;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::task::Waker;

thread_local! {
    static CURRENT: RefCell<Option<scheduler::Handle>> = const { RefCell::new(None) };
    static ENTERED: Cell<bool> = const { Cell::new(false) };
    /// Wakers of tasks that yielded, held back until the scheduler on this
    /// thread runs out of other work; `None` where no scheduler drives.
    static DEFERRED: RefCell<Option<Vec<Waker>>> = const { RefCell::new(None) };
    /// True whenever this thread's `DEFERRED` list is not empty (it may
    /// also be true for an empty one). Lets the scheduler's checks on every
    /// park skip the list: no destructor, so reading it costs one
    /// thread-local access and no registration check.
    static DEFERRED_ANY: Cell<bool> = const { Cell::new(false) };
}

/// Enables deferred yields on this thread while `f` runs (a scheduler's
/// loop); wakers still deferred when it returns are woken.
pub(crate) fn with_defer<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Vec<Waker>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            if prev.as_ref().is_some_and(|list| !list.is_empty()) {
                let _ = DEFERRED_ANY.try_with(|any| any.set(true));
            }
            let left = DEFERRED
                .try_with(|d| std::mem::replace(&mut *d.borrow_mut(), prev))
                .ok()
                .flatten();
            // Already unwinding or not, every one is woken; a waker's
            // panic goes on only if this thread is not unwinding.
            let mut first = None;
            for w in left.into_iter().flatten() {
                crate::sync::wait_list::wake_catching(w, &mut first);
            }
            crate::sync::wait_list::resume_unless_unwinding(first);
        }
    }
    let prev = DEFERRED.with(|d| d.borrow_mut().replace(Vec::new()));
    let _restore = Restore(prev);
    f()
}

/// Wakes `waker` later, when this thread's scheduler has run its other
/// ready tasks (or polled the driver). How `yield_now` and an exhausted
/// coop budget give way without starving the injection queue: a yielding
/// task is not in any run queue meanwhile, so the worker looks elsewhere.
/// Off a scheduler thread it wakes at once.
pub(crate) fn defer(waker: &Waker) {
    let deferred = DEFERRED.try_with(|d| match d.borrow_mut().as_mut() {
        Some(list) => {
            if !list.last().is_some_and(|w| w.will_wake(waker)) {
                list.push(waker.clone());
                let _ = DEFERRED_ANY.try_with(|any| any.set(true));
            }
            true
        }
        None => false,
    });
    if deferred != Ok(true) {
        waker.wake_by_ref();
    }
}

/// Whether any yield may be deferred on this thread (false: none is).
pub(crate) fn has_deferred() -> bool {
    DEFERRED_ANY.try_with(Cell::get).unwrap_or(false)
}

/// How many yields are deferred on this thread.
pub(crate) fn deferred_len() -> usize {
    DEFERRED
        .try_with(|d| d.borrow().as_ref().map_or(0, Vec::len))
        .unwrap_or(0)
}

/// Wakes every deferred waker; call with the scheduler core in context.
/// The list's buffer is handed back afterwards so that a worker yielding
/// in a loop does not reallocate it on every round.
pub(crate) fn wake_deferred() {
    loop {
        // Nothing deferred (the common case on a park): leave at once.
        if !has_deferred() {
            return;
        }
        // The list is emptied here, so the flag can be cleared with it.
        let _ = DEFERRED_ANY.try_with(|any| any.set(false));
        let Some(mut batch) = DEFERRED
            .try_with(|d| match d.borrow_mut().as_mut() {
                Some(list) if !list.is_empty() => Some(std::mem::take(list)),
                _ => None,
            })
            .ok()
            .flatten()
        else {
            return;
        };
        // No borrow is held while waking: a wake may defer again. A
        // panicking (foreign) waker does not keep the rest of the batch
        // from being woken; its panic goes on once the batch is done.
        crate::sync::wait_list::wake_each(batch.drain(..));
        let _ = DEFERRED.try_with(|d| {
            if let Some(list) = d.borrow_mut().as_mut() {
                if list.is_empty() {
                    *list = batch;
                }
            }
        });
    }
}

/// Error returned by [`Handle::try_current`](super::Handle::try_current).
#[derive(Debug)]
pub struct TryCurrentError {
    kind: TryCurrentKind,
}

#[derive(Debug, PartialEq, Eq)]
enum TryCurrentKind {
    NoContext,
    ThreadLocalDestroyed,
}

impl TryCurrentError {
    /// No runtime is entered on this thread.
    pub fn is_missing_context(&self) -> bool {
        self.kind == TryCurrentKind::NoContext
    }

    /// The thread is exiting and its runtime context is already gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.kind == TryCurrentKind::ThreadLocalDestroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TryCurrentKind::NoContext => f.write_str(
                "must be called from the context of a runtime: there is no runtime entered on \
                 this thread (use `Runtime::block_on`, `Runtime::enter`, or call it from a task)",
            ),
            TryCurrentKind::ThreadLocalDestroyed => f.write_str(
                "was called while this thread is being destroyed; its runtime context is gone",
            ),
        }
    }
}

impl std::error::Error for TryCurrentError {}

/// Runs `f` with the current scheduler handle.
pub(crate) fn with_current<R>(
    f: impl FnOnce(&scheduler::Handle) -> R,
) -> Result<R, TryCurrentError> {
    match CURRENT.try_with(|c| c.borrow().as_ref().map(f)) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(TryCurrentError {
            kind: TryCurrentKind::NoContext,
        }),
        Err(_) => Err(TryCurrentError {
            kind: TryCurrentKind::ThreadLocalDestroyed,
        }),
    }
}

/// Restores the previous current handle on drop. Guards nest: each one
/// must be dropped before the guards made before it on its thread (checked
/// with `DEPTH`).
#[must_use]
pub(crate) struct SetCurrentGuard {
    prev: Option<scheduler::Handle>,
    /// `DEPTH` once this guard was made.
    depth: usize,
    // Guards are tied to the thread that made them.
    _not_send: std::marker::PhantomData<*const ()>,
}

thread_local! {
    /// How many `SetCurrentGuard`s of this thread are alive.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Makes `handle` the current runtime for this thread until the guard drops.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(handle.clone()));
    let depth = DEPTH.with(|d| {
        let n = d.get() + 1;
        d.set(n);
        n
    });
    SetCurrentGuard {
        prev,
        depth,
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for SetCurrentGuard {
    /// # Panics
    /// If a guard made after this one on the same thread is still alive
    /// (e.g. two `Handle::enter` guards dropped in the order they were
    /// made): restoring now would leave a runtime current for good. As in
    /// Tokio. (Not while already unwinding: the guards then drop in
    /// reverse order anyway.)
    fn drop(&mut self) {
        let depth = DEPTH.try_with(|d| d.get()).unwrap_or(self.depth);
        if depth != self.depth && !std::thread::panicking() {
            panic!(
                "`EnterGuard`s dropped out of order: the guards returned by `Handle::enter` \
                 (and `Runtime::enter`) must be dropped in the reverse of the order they \
                 were made in"
            );
        }
        let _ = DEPTH.try_with(|d| d.set(self.depth - 1));
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

/// Marks the thread as driving a runtime; restores on drop.
#[must_use]
pub(crate) struct EnterRuntimeGuard {
    _current: SetCurrentGuard,
}

/// Enters the runtime on this thread (a worker, or a `block_on` caller).
///
/// # Panics
/// If the thread is already driving a runtime: blocking on a runtime from a
/// thread that drives one would deadlock it.
#[track_caller]
pub(crate) fn enter_runtime(handle: &scheduler::Handle) -> EnterRuntimeGuard {
    if ENTERED.with(|e| e.replace(true)) {
        panic!(
            "Cannot start a runtime from within a runtime. This happens because a function \
             (like `block_on`) attempted to block the current thread while the thread is being \
             used to drive asynchronous tasks. Use `spawn_blocking` to get a thread where \
             blocking is allowed."
        );
    }
    EnterRuntimeGuard {
        _current: set_current(handle),
    }
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let _ = ENTERED.try_with(|e| e.set(false));
    }
}

/// Whether this thread is currently driving a runtime.
pub(crate) fn is_entered() -> bool {
    ENTERED.try_with(|e| e.get()).unwrap_or(false)
}
