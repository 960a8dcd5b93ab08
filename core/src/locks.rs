//! Blocking locks for the runtime's own threads: `std::sync`'s futex-based
//! `Mutex`, `RwLock` and `Condvar`, with the no-poisoning,
//! guard-by-reference API the runtime is written against.
//!
//! Why not `parking_lot`: it parks threads in one process-wide hash table
//! whose buckets are guarded by word locks. `fork()` copies only the forking
//! thread, so a bucket locked by any other thread at that instant stays
//! locked in the child, and every later lock or unlock in the child that
//! hashes to that bucket hangs, even on a mutex created after the fork
//! (seen: a forked child's fresh runtime hung in `Condvar::notify_all`).
//! `std`'s locks keep all their state in the lock itself: in a child, only
//! a lock that was held at the fork stays held, and the runtime never uses
//! its parent's locks there (see `io::fork`).
//!
//! Invariants: a panic while a lock is held does not poison it (as with
//! `parking_lot`); a guard moved through a condvar wait is always put back,
//! or the process aborts (it never gets dropped twice).
use std::sync::{PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// A mutual-exclusion lock that ignores poisoning.
#[derive(Debug, Default)]
pub struct Mutex<T: ?Sized>(std::sync::Mutex<T>);

/// The guard of a [`Mutex`].
pub type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// A new unlocked mutex (usable in a `static`).
    pub const fn new(value: T) -> Mutex<T> {
        Mutex(std::sync::Mutex::new(value))
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, blocking until the lock is free.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks if the lock is free right now.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The value, through a unique borrow (no locking).
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A reader-writer lock that ignores poisoning.
#[derive(Debug, Default)]
pub struct RwLock<T: ?Sized>(std::sync::RwLock<T>);

/// Shared guard of a [`RwLock`].
pub type RwLockReadGuard<'a, T> = std::sync::RwLockReadGuard<'a, T>;
/// Exclusive guard of a [`RwLock`].
pub type RwLockWriteGuard<'a, T> = std::sync::RwLockWriteGuard<'a, T>;

impl<T> RwLock<T> {
    /// A new unlocked lock.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock(std::sync::RwLock::new(value))
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access, blocking while a writer holds the lock.
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access, blocking while anyone holds the lock.
    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a timed condvar wait ended by its timeout.
#[derive(Debug, Clone, Copy)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait timed out (the condition may still have changed).
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable whose waits take the guard by reference.
#[derive(Debug, Default)]
pub struct Condvar(std::sync::Condvar);

impl Condvar {
    /// A new condvar.
    pub const fn new() -> Condvar {
        Condvar(std::sync::Condvar::new())
    }

    /// Releases the guard's lock, sleeps until notified (or spuriously),
    /// and locks again.
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        swap_guard(guard, |g| {
            self.0.wait(g).unwrap_or_else(PoisonError::into_inner)
        });
    }

    /// As [`wait`](Self::wait), for at most `timeout`.
    pub fn wait_for<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let mut timed_out = false;
        swap_guard(guard, |g| {
            let (g, res) = self
                .0
                .wait_timeout(g, timeout)
                .unwrap_or_else(PoisonError::into_inner);
            timed_out = res.timed_out();
            g
        });
        WaitTimeoutResult(timed_out)
    }

    /// As [`wait`](Self::wait), until `deadline`.
    pub fn wait_until<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        let now = Instant::now();
        if deadline <= now {
            return WaitTimeoutResult(true);
        }
        self.wait_for(guard, deadline - now)
    }

    /// Wakes one waiter, if any.
    #[inline]
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    #[inline]
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Moves the guard out of `slot`, passes it through `wait` and puts the
/// guard `wait` returns back.
fn swap_guard<'a, T>(
    slot: &mut MutexGuard<'a, T>,
    wait: impl FnOnce(MutexGuard<'a, T>) -> MutexGuard<'a, T>,
) {
    /// Aborts if `wait` unwinds: the slot would then hold a guard that was
    /// already consumed, and its drop would unlock a second time.
    struct AbortOnUnwind;
    impl Drop for AbortOnUnwind {
        fn drop(&mut self) {
            std::process::abort();
        }
    }
    let bomb = AbortOnUnwind;
    // SAFETY: the guard is read out of `slot` and `slot` is written with
    // the guard `wait` returns before it is used again; nothing reads or
    // drops `slot` in between (if `wait` unwinds, `bomb` aborts before any
    // unwinding code could drop `slot`).
    unsafe {
        let g = std::ptr::read(slot);
        let g = wait(g);
        std::ptr::write(slot, g);
    }
    std::mem::forget(bomb);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn poisoned_locks_still_lock() {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock();
            panic!("poison it");
        })
        .join();
        *m.lock() += 1;
        assert_eq!(*m.try_lock().expect("free"), 2);
    }

    #[test]
    fn wait_for_times_out_and_keeps_the_guard() {
        let m = Mutex::new(0);
        let cv = Condvar::new();
        let mut g = m.lock();
        assert!(cv.wait_for(&mut g, Duration::from_millis(5)).timed_out());
        *g += 1;
        drop(g);
        assert_eq!(*m.lock(), 1);
        assert!(m.try_lock().is_some());
    }

    #[test]
    fn wait_until_in_the_past_returns_at_once() {
        let m = Mutex::new(());
        let cv = Condvar::new();
        let mut g = m.lock();
        assert!(cv.wait_until(&mut g, Instant::now()).timed_out());
    }

    #[test]
    fn notify_one_wakes_a_waiter() {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p2 = pair.clone();
        let t = std::thread::spawn(move || {
            let mut g = p2.0.lock();
            while !*g {
                p2.1.wait(&mut g);
            }
        });
        std::thread::sleep(Duration::from_millis(10));
        *pair.0.lock() = true;
        pair.1.notify_one();
        t.join().unwrap();
    }
}
