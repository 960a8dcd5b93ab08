//! Error types shared by the locks and the semaphore.
//!
//! Shapes follow Tokio's (`AcquireError`, `TryAcquireError`, `TryLockError`)
//! so code written against Tokio matches on them unchanged.
use std::fmt;

/// Returned by `Semaphore::acquire*` when the semaphore was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Returned by `Semaphore::try_acquire*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits were free.
    NoPermits,
}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether there were too few permits.
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<crate::sync::batch_semaphore::TryAcquireError> for TryAcquireError {
    fn from(e: crate::sync::batch_semaphore::TryAcquireError) -> Self {
        match e {
            crate::sync::batch_semaphore::TryAcquireError::Closed => TryAcquireError::Closed,
            crate::sync::batch_semaphore::TryAcquireError::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

/// Returned by `Mutex::try_lock` and `RwLock::try_read`/`try_write` when the
/// lock is held (or queued for) elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}
