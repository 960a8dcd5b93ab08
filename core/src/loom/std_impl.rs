//! The non-loom half of the shim: std atomics and the std-backed locks of
//! [`crate::locks`].
#![allow(unused_imports, dead_code)]

pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, Weak};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }

    pub(crate) use crate::locks::{
        Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
    };
}

pub(crate) mod cell {
    /// An `UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

pub(crate) mod thread {
    pub(crate) use std::thread::{current, panicking, park, spawn, yield_now, Builder, JoinHandle};
}

pub(crate) mod hint {
    pub(crate) use std::hint::spin_loop;
}
