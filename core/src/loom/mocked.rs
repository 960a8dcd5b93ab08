//! The loom half of the shim: instrumented atomics, locks and threads.
#![allow(unused_imports, dead_code)]

pub(crate) mod sync {
    pub(crate) use loom::sync::{Arc, Condvar as LoomCondvar, Mutex as LoomMutex};

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }

    /// A `crate::locks`-shaped mutex over loom's mutex (no poisoning).
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);
    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(t: T) -> Self {
            Mutex(loom::sync::Mutex::new(t))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok()
        }
    }

    pub(crate) type RwLockReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
    pub(crate) type RwLockWriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

    /// A `crate::locks`-shaped `RwLock` over loom's (no poisoning).
    #[derive(Debug)]
    pub(crate) struct RwLock<T>(loom::sync::RwLock<T>);

    impl<T> RwLock<T> {
        pub(crate) fn new(t: T) -> Self {
            RwLock(loom::sync::RwLock::new(t))
        }
        pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap()
        }
        pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap()
        }
    }

    /// Mirrors `crate::locks::WaitTimeoutResult`.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            self.0
        }
    }

    /// A `crate::locks`-shaped condvar over loom's condvar.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            // loom's condvar consumes the guard; swap through a raw read.
            // SAFETY: `guard` is moved out and immediately replaced by the
            // guard `wait` returns, so no guard is ever dropped twice or used
            // while moved out (loom's wait does not unwind in models).
            unsafe {
                let g = std::ptr::read(guard);
                let g = self.0.wait(g).unwrap();
                std::ptr::write(guard, g);
            }
        }
        /// Loom does not model time: a timed wait is an untimed wait that
        /// reports no timeout (models must not rely on timeouts firing).
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _timeout: std::time::Duration,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult(false)
        }
        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell;
}

/// loom's per-model-thread `thread_local!` (std's would be shared by every
/// model thread, which loom runs on one OS thread).
pub(crate) use loom::thread_local;

pub(crate) mod thread {
    pub(crate) use loom::thread::{current, spawn, yield_now, JoinHandle};
    pub(crate) use std::thread::panicking;
}

pub(crate) mod hint {
    pub(crate) use loom::hint::spin_loop;
}
