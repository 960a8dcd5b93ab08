//! A fair async counting semaphore.
//!
//! Thin public face over [`crate::sync::batch_semaphore`]: waiters are served
//! in FIFO order (a large request at the front is not overtaken by smaller
//! later ones), permits are returned when a permit guard drops, and closing
//! the semaphore fails every pending and future acquisition.
use crate::sync::batch_semaphore as ll;
use crate::sync::error::{AcquireError, TryAcquireError};
use std::sync::Arc;

/// An async counting semaphore with FIFO fairness.
///
/// ```
/// use runtime_core::sync::Semaphore;
/// futures::executor::block_on(async {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await.unwrap();
///     let _b = sem.acquire().await.unwrap();
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    ll: ll::Semaphore,
}

/// Permits borrowed from a [`Semaphore`]; released on drop.
#[derive(Debug)]
#[must_use = "the permits are released immediately when the guard is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    /// A `usize`, so that merging guards cannot overflow (each holds at
    /// most `MAX_PERMITS`, an eighth of the range).
    permits: usize,
}

/// Permits taken from an `Arc<Semaphore>`; released on drop.
#[derive(Debug)]
#[must_use = "the permits are released immediately when the guard is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    /// A `usize`, so that merging guards cannot overflow (each holds at
    /// most `MAX_PERMITS`, an eighth of the range).
    permits: usize,
}

impl Semaphore {
    /// The most permits a semaphore can hold (`usize::MAX >> 3`).
    pub const MAX_PERMITS: usize = ll::MAX_PERMITS;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn new(permits: usize) -> Self {
        Semaphore {
            ll: ll::Semaphore::new(permits),
        }
    }

    /// As [`Semaphore::new`], usable to initialise a `static`.
    ///
    /// ```
    /// static LIMIT: runtime_core::sync::Semaphore = runtime_core::sync::Semaphore::const_new(4);
    /// assert_eq!(LIMIT.available_permits(), 4);
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Self {
        Semaphore {
            ll: ll::Semaphore::const_new(permits),
        }
    }

    /// Permits currently free.
    pub fn available_permits(&self) -> usize {
        self.ll.available_permits()
    }

    /// Adds `n` permits, waking waiters in FIFO order.
    ///
    /// # Panics
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.ll.release(n);
    }

    /// Removes up to `n` currently free permits; returns how many.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut n = n.min(self.available_permits());
        while n > 0 {
            if self.ll.try_acquire(n).is_ok() {
                return n;
            }
            n = n.min(self.available_permits());
        }
        0
    }

    /// Waits for one permit.
    ///
    /// # Cancel safety
    /// Cancel safe: waiters are queued FIFO; dropping the future removes it
    /// from the queue and returns any permits already assigned to it.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits at once (all or nothing for the caller).
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Semaphore::acquire`]; a partially served request
    /// that is dropped gives its permits back.
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        match self.ll.acquire(n as usize).await {
            Ok(()) => Ok(SemaphorePermit {
                sem: self,
                permits: n as usize,
            }),
            Err(ll::AcquireError) => Err(AcquireError(())),
        }
    }

    /// Takes one permit if one is free and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.ll.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// As [`Semaphore::acquire`], returning a guard that owns an `Arc`.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Semaphore::acquire`].
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// As [`Semaphore::acquire_many`], returning a guard that owns an `Arc`.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Semaphore::acquire`].
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        match self.ll.acquire(n as usize).await {
            Ok(()) => Ok(OwnedSemaphorePermit {
                sem: self,
                permits: n as usize,
            }),
            Err(ll::AcquireError) => Err(AcquireError(())),
        }
    }

    /// As [`Semaphore::try_acquire`], returning a guard that owns an `Arc`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// As [`Semaphore::try_acquire_many`], returning an owning guard.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.ll.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Closes the semaphore: every pending and future `acquire` fails with
    /// [`AcquireError`]; `try_acquire` fails with `Closed`. Permits already
    /// held stay valid.
    pub fn close(&self) {
        self.ll.close();
    }

    /// Whether [`Semaphore::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.ll.is_closed()
    }
}

impl<'a> SemaphorePermit<'a> {
    /// Drops the guard without releasing its permits (they are lost).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves `other`'s permits into this guard.
    ///
    /// # Panics
    /// If the permits belong to different semaphores.
    pub fn merge(&mut self, mut other: SemaphorePermit<'a>) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}

impl OwnedSemaphorePermit {
    /// Drops the guard without releasing its permits (they are lost).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Moves `other`'s permits into this guard.
    ///
    /// # Panics
    /// If the permits belong to different semaphores.
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphores"
        );
        self.permits += other.permits;
        other.permits = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}
