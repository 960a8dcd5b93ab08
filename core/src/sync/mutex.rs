//! A fair async mutex.
//!
//! `Mutex<T>` is a one-permit [`batch_semaphore`](crate::sync::batch_semaphore)
//! plus the protected value: `lock().await` queues FIFO behind earlier
//! waiters, and the guard releases the permit on drop.
//!
//! Unlike `std::sync::MutexGuard`, the guards here may be held across
//! `.await` (that is what an async mutex is for) and are `Send` when `T: Send`.
//!
//! Invariant: a guard exists for a given mutex iff its single permit is out
//! of the semaphore; this is what makes the `unsafe` accesses to the value
//! sound.
use crate::loom::cell::UnsafeCell;
use crate::sync::batch_semaphore as ll;
use crate::sync::error::TryLockError;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// An async mutual-exclusion lock with FIFO fairness.
///
/// ```
/// use runtime_core::sync::Mutex;
/// use std::sync::Arc;
/// futures::executor::block_on(async {
///     let m = Arc::new(Mutex::new(0));
///     {
///         let mut g = m.lock().await;
///         *g += 1;
///         // Holding the guard across an await point is fine.
///         std::future::ready(()).await;
///         *g += 1;
///     }
///     assert_eq!(*m.lock().await, 2);
/// });
/// ```
pub struct Mutex<T> {
    s: ll::Semaphore,
    c: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time (one
// permit), possibly on another thread, so `T: Send` suffices for both.
unsafe impl<T: Send> Send for Mutex<T> {}
// SAFETY: as above; `&Mutex<T>` only yields `&mut T` through an exclusive guard.
unsafe impl<T: Send> Sync for Mutex<T> {}

/// Exclusive access to a [`Mutex`]'s value; unlocks on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
}

// SAFETY: sharing `&MutexGuard` across threads shares `&T` (needs `T: Sync`);
// the guard may also be dropped from there, moving the unlock (needs `Send`).
unsafe impl<T: Send + Sync> Sync for MutexGuard<'_, T> {}

/// Exclusive access to a [`Mutex`] held through an `Arc`; unlocks on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T> {
    lock: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`.
unsafe impl<T: Send + Sync> Sync for OwnedMutexGuard<T> {}

/// A [`MutexGuard`] narrowed to a part of the value by [`MutexGuard::map`].
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, U: ?Sized> {
    s: &'a ll::Semaphore,
    data: *mut U,
    marker: PhantomData<&'a mut U>,
}

// SAFETY: the guard is an exclusive borrow of a `U` that lives in the mutex;
// moving it to another thread moves that `&mut U` (needs `U: Send`).
unsafe impl<U: ?Sized + Send> Send for MappedMutexGuard<'_, U> {}
// SAFETY: `&MappedMutexGuard` only gives `&U` (needs `U: Sync`).
unsafe impl<U: ?Sized + Sync> Sync for MappedMutexGuard<'_, U> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            s: ll::Semaphore::new(1),
            c: UnsafeCell::new(value),
        }
    }

    /// As [`Mutex::new`], usable to initialise a `static`.
    ///
    /// ```
    /// use runtime_core::sync::Mutex;
    /// static COUNT: Mutex<u32> = Mutex::const_new(0);
    /// futures::executor::block_on(async { *COUNT.lock().await += 1 });
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Self {
        Mutex {
            s: ll::Semaphore::const_new(1),
            c: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock. Waiters acquire it in the order they called
    /// `lock` (first poll).
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future leaves the queue, and if the lock had
    /// already been handed to it, passes the lock on to the next waiter.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        if self.s.acquire(1).await.is_err() {
            unreachable!("a Mutex's semaphore is never closed");
        }
        MutexGuard { lock: self }
    }

    /// Locks from a thread that is not running async tasks, blocking it.
    ///
    /// # Panics
    /// If called on a thread that drives a runtime (inside a task or
    /// `block_on`); use it from plain threads or `spawn_blocking`.
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        crate::sync::park::block_on(self.lock())
    }

    /// As [`Mutex::blocking_lock`], returning an owning guard.
    ///
    /// # Panics
    /// As [`Mutex::blocking_lock`].
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        crate::sync::park::block_on(self.lock_owned())
    }

    /// Locks an `Arc<Mutex<T>>`, returning a guard that keeps the `Arc`
    /// alive (`'static` when `T` is).
    ///
    /// # Cancel safety
    /// Cancel safe, as [`Mutex::lock`].
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        if self.s.acquire(1).await.is_err() {
            unreachable!("a Mutex's semaphore is never closed");
        }
        OwnedMutexGuard { lock: self }
    }

    /// Takes the lock if it is free and nobody is queued for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(MutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// As [`Mutex::try_lock`], returning an owning guard.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard { lock: self }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Mutable access without locking: `&mut self` proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard (guards borrow the mutex).
        self.c.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        let Mutex { c, s } = self;
        drop(s);
        let c = std::mem::ManuallyDrop::new(c);
        // SAFETY: we own the cell by value and it is never dropped
        // (`ManuallyDrop`), so reading the value out moves it exactly once.
        c.with_mut(|p| unsafe { std::ptr::read(p) })
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }

    /// Narrows the guard to a component of the value.
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        let s = &this.lock.s;
        std::mem::forget(this);
        MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        }
    }

    /// As [`MutexGuard::map`], but `f` may decline (the guard comes back).
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(d) => d as *mut U,
            None => return Err(this),
        };
        let s = &this.lock.s;
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            s,
            data,
            marker: PhantomData,
        })
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (module invariant),
        // so no `&mut T` exists elsewhere while `&self` is borrowed.
        self.lock.c.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        self.lock.c.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (module invariant).
        self.lock.c.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        self.lock.c.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<U: ?Sized> Deref for MappedMutexGuard<'_, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` was derived from the `&mut T` of a guard whose permit
        // this guard now holds (the original guard was forgotten, not
        // dropped), so the pointee is live and exclusively ours for `'a`.
        unsafe { &*self.data }
    }
}

impl<U: ?Sized> DerefMut for MappedMutexGuard<'_, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and `&mut self` makes this access unique.
        unsafe { &mut *self.data }
    }
}

impl<U: ?Sized> Drop for MappedMutexGuard<'_, U> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<U: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn guards_give_exclusive_access() {
        let m = Arc::new(Mutex::new(vec![1, 2]));
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 5 } else { 100 } {
                        let g = m.blocking_lock();
                        let mut g = MutexGuard::map(g, |v| &mut v[..]);
                        g[0] += i;
                        drop(g);
                        let mut g = m.clone().blocking_lock_owned();
                        g[1] += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let n = if cfg!(miri) { 5 } else { 100 };
        let v = Arc::try_unwrap(m).unwrap().into_inner();
        assert_eq!(v, vec![1 + 3 * n, 2 + 3 * n]);
    }
}
