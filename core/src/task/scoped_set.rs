//! Setting a thread-local `Cell` for a scope: the task id while a task's
//! future is polled or dropped (`id.rs`), the coop budget while a task is
//! polled (`coop.rs`).
//!
//! [`ScopedSet`] stores the new value and keeps a pointer to the cell, so
//! restoring the old value costs no second thread-local lookup (in a
//! `cdylib` each lookup is a call into the dynamic linker).
//!
//! Invariant: the cells are const-initialized and have no drop glue, so
//! their storage stays valid until their thread exits; a guard is `!Send`
//! (raw pointer) and lives on the stack of the thread that made it.
use std::cell::Cell;
use std::ptr::NonNull;
use std::thread::LocalKey;

/// Restores the previous value of a thread-local cell when dropped.
pub(crate) struct ScopedSet<T: Copy + 'static> {
    /// The cell and its previous value; `None` if the thread-local was
    /// unreachable (then nothing was set and nothing is restored).
    set: Option<(NonNull<Cell<T>>, T)>,
}

impl<T: Copy + 'static> ScopedSet<T> {
    /// Sets `key`'s cell to `value` until the guard is dropped.
    pub(crate) fn enter(key: &'static LocalKey<Cell<T>>, value: T) -> ScopedSet<T> {
        ScopedSet {
            set: key.try_with(|c| (NonNull::from(c), c.replace(value))).ok(),
        }
    }
}

impl<T: Copy + 'static> Drop for ScopedSet<T> {
    fn drop(&mut self) {
        if let Some((cell, prev)) = self.set {
            // SAFETY: the pointer came from this thread's cell, whose
            // storage stays valid until the thread exits, and this guard
            // is dropped on that thread's stack before then (module docs).
            unsafe { cell.as_ref() }.set(prev);
        }
    }
}
