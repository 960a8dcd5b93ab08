//! A fair async reader-writer lock.
//!
//! Built on the FIFO [`batch_semaphore`](crate::sync::batch_semaphore) with
//! `MAX_READS` permits: a reader takes one permit, a writer takes all of
//! them. Because the semaphore never lets a later request overtake a queued
//! one, a waiting writer blocks readers that arrive after it, so writers are
//! never starved, and readers queued behind a writer are not starved either.
//!
//! Invariant: while a write guard exists, all `MAX_READS` permits are out;
//! while a read guard exists, at least one permit is out and no write guard
//! exists. That is what makes the `unsafe` value accesses sound.
use crate::loom::cell::UnsafeCell;
use crate::sync::batch_semaphore as ll;
use crate::sync::error::TryLockError;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// How many readers may hold the lock at once.
const MAX_READS: usize = (u32::MAX >> 3) as usize;

/// An async reader-writer lock with FIFO fairness (no writer starvation).
///
/// ```
/// use runtime_core::sync::RwLock;
/// futures::executor::block_on(async {
///     let lock = RwLock::new(5);
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_err());
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T> {
    s: ll::Semaphore,
    c: UnsafeCell<T>,
}

// SAFETY: a writer may get `&mut T` on another thread (needs `T: Send`).
unsafe impl<T: Send> Send for RwLock<T> {}
// SAFETY: readers on several threads share `&T` (needs `T: Sync`), writers
// move exclusive access across threads (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

/// Shared access to an [`RwLock`]'s value; releases on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T> {
    lock: &'a RwLock<T>,
}

/// Exclusive access to an [`RwLock`]'s value; releases on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
}

/// Shared access through an `Arc<RwLock<T>>`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T> {
    lock: Arc<RwLock<T>>,
}

/// Exclusive access through an `Arc<RwLock<T>>`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T> {
    lock: Arc<RwLock<T>>,
}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    pub fn new(value: T) -> Self {
        RwLock {
            s: ll::Semaphore::new(MAX_READS),
            c: UnsafeCell::new(value),
        }
    }

    /// As [`RwLock::new`], usable to initialise a `static`.
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Self {
        RwLock {
            s: ll::Semaphore::const_new(MAX_READS),
            c: UnsafeCell::new(value),
        }
    }

    async fn acquire(&self, n: usize) {
        if self.s.acquire(n).await.is_err() {
            unreachable!("an RwLock's semaphore is never closed");
        }
    }

    /// Waits for shared access. Queues behind any earlier waiting writer.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future leaves the queue without affecting
    /// other waiters' order.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive access.
    ///
    /// # Cancel safety
    /// Cancel safe: a writer dropped mid-wait gives back the reader permits
    /// it had collected, letting queued readers proceed.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(MAX_READS).await;
        RwLockWriteGuard { lock: self }
    }

    /// As [`RwLock::read`], returning an owning guard.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`RwLock::read`].
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard { lock: self }
    }

    /// As [`RwLock::write`], returning an owning guard.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`RwLock::write`].
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(MAX_READS).await;
        OwnedRwLockWriteGuard { lock: self }
    }

    /// Shared access if available right now (and no writer is queued).
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(RwLockReadGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Exclusive access if available right now.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(MAX_READS) {
            Ok(()) => Ok(RwLockWriteGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// As [`RwLock::try_read`], returning an owning guard.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedRwLockReadGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// As [`RwLock::try_write`], returning an owning guard.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.s.try_acquire(MAX_READS) {
            Ok(()) => Ok(OwnedRwLockWriteGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Blocking [`RwLock::read`] for threads not running async tasks.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        crate::sync::park::block_on(self.read())
    }

    /// Blocking [`RwLock::write`] for threads not running async tasks.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        crate::sync::park::block_on(self.write())
    }

    /// Mutable access without locking: `&mut self` proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard (guards borrow the lock).
        self.c.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        let RwLock { c, s } = self;
        drop(s);
        let c = std::mem::ManuallyDrop::new(c);
        // SAFETY: we own the cell by value and it is never dropped
        // (`ManuallyDrop`), so reading the value out moves it exactly once.
        c.with_mut(|p| unsafe { std::ptr::read(p) })
    }

    /// # Safety
    /// The caller holds at least one permit of `self.s` (a read or write
    /// guard), and the returned reference does not outlive that guard.
    unsafe fn shared(&self) -> &T {
        // SAFETY: by the contract, no write guard (and so no `&mut T`) exists.
        self.c.with(|p| unsafe { &*p })
    }

    /// # Safety
    /// The caller holds all `MAX_READS` permits (a write guard) borrowed
    /// mutably, and the reference does not outlive that borrow.
    #[allow(clippy::mut_from_ref)]
    unsafe fn exclusive(&self) -> &mut T {
        // SAFETY: by the contract no other guard exists, and the mutable
        // borrow of the write guard makes this reference unique.
        self.c.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(v: T) -> Self {
        RwLock::new(v)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this read guard holds one permit; the reference borrows it.
        unsafe { self.lock.shared() }
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<'a, T> RwLockWriteGuard<'a, T> {
    /// Atomically turns write access into read access; queued readers (but
    /// not queued writers) may then proceed.
    pub fn downgrade(this: Self) -> RwLockReadGuard<'a, T> {
        let lock = this.lock;
        std::mem::forget(this);
        lock.s.release(MAX_READS - 1);
        RwLockReadGuard { lock }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this write guard holds all permits; the reference borrows it.
        unsafe { self.lock.shared() }
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this write guard holds all permits, borrowed mutably here.
        unsafe { self.lock.exclusive() }
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(MAX_READS);
    }
}

impl<T> OwnedRwLockWriteGuard<T> {
    /// Atomically turns write access into read access.
    pub fn downgrade(this: Self) -> OwnedRwLockReadGuard<T> {
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped, so the `Arc` is moved out exactly once.
        let lock = unsafe { std::ptr::read(&this.lock) };
        lock.s.release(MAX_READS - 1);
        OwnedRwLockReadGuard { lock }
    }
}

impl<T> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this read guard holds one permit; the reference borrows it.
        unsafe { self.lock.shared() }
    }
}

impl<T> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this write guard holds all permits; the reference borrows it.
        unsafe { self.lock.shared() }
    }
}

impl<T> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this write guard holds all permits, borrowed mutably here.
        unsafe { self.lock.exclusive() }
    }
}

impl<T> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(MAX_READS);
    }
}

macro_rules! debug_via_deref {
    ($($ty:ty),*) => {$(
        impl<T: fmt::Debug> fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    )*};
}
debug_via_deref!(
    RwLockReadGuard<'_, T>,
    RwLockWriteGuard<'_, T>,
    OwnedRwLockReadGuard<T>,
    OwnedRwLockWriteGuard<T>
);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn readers_and_writers_across_threads() {
        let l = Arc::new(RwLock::new(String::new()));
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 5 } else { 50 } {
                        if i % 2 == 0 {
                            let mut w = crate::sync::park::block_on(l.clone().write_owned());
                            w.push('x');
                            let r = OwnedRwLockWriteGuard::downgrade(w);
                            assert!(!r.is_empty());
                        } else {
                            let r = l.blocking_read();
                            assert!(r.chars().all(|c| c == 'x'));
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let n = if cfg!(miri) { 5 } else { 50 };
        assert_eq!(Arc::try_unwrap(l).unwrap().into_inner().len(), 2 * n);
    }
}
