//! Task ids: unique for the life of the process, and the "current task"
//! thread-local that `task::id()` reads.
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// An opaque id that uniquely identifies a task among all tasks of the
/// process (ids are never reused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

static NEXT: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

impl Id {
    pub(crate) fn next() -> Id {
        let v = NEXT.fetch_add(1, Ordering::Relaxed);
        Id(NonZeroU64::new(v).expect("task id space exhausted"))
    }

    /// The id as an integer (stable for the process's lifetime).
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Sets the current task id while it polls (or drops) its future.
///
/// It keeps a pointer to this thread's `CURRENT`, so that restoring the
/// previous id costs no second thread-local lookup (in a `cdylib` each
/// lookup is a call into the dynamic linker).
pub(crate) struct TaskIdGuard {
    /// This thread's `CURRENT` (null if it was unreachable).
    current: *const Cell<Option<Id>>,
    prev: Option<Id>,
}

impl TaskIdGuard {
    pub(crate) fn enter(id: Id) -> TaskIdGuard {
        CURRENT
            .try_with(|c| TaskIdGuard {
                current: c,
                prev: c.replace(Some(id)),
            })
            .unwrap_or(TaskIdGuard {
                current: std::ptr::null(),
                prev: None,
            })
    }
}

impl Drop for TaskIdGuard {
    fn drop(&mut self) {
        // SAFETY: `CURRENT` is a const-initialized `Cell` without drop glue,
        // so its storage lives as long as its thread; the guard is `!Send`
        // (raw pointer) and used as a local of the thread that made it, so
        // the pointer is valid here.
        if let Some(c) = unsafe { self.current.as_ref() } {
            c.set(self.prev);
        }
    }
}

/// The id of the task currently running on this thread.
///
/// # Panics
/// Outside a task. Use [`try_id`] to get `None` instead.
pub fn id() -> Id {
    try_id().expect("can't get a task id when not inside a task")
}

/// The id of the task currently running on this thread, if any.
pub fn try_id() -> Option<Id> {
    CURRENT.try_with(|c| c.get()).unwrap_or(None)
}
