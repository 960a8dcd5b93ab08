//! Task ids: unique for the life of the process, and the "current task"
//! thread-local that `task::id()` reads.
use super::scoped_set::ScopedSet;
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
pub(crate) struct TaskIdGuard {
    _set: ScopedSet<Option<Id>>,
}

impl TaskIdGuard {
    pub(crate) fn enter(id: Id) -> TaskIdGuard {
        TaskIdGuard {
            _set: ScopedSet::enter(&CURRENT, Some(id)),
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
