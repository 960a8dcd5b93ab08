//! The blocking reader-writer lock `watch` and `broadcast` keep values in.
//!
//! Outside loom this is `parking_lot::RwLock`; under `--cfg loom` it is a
//! parking_lot-shaped wrapper over loom's `RwLock`, so those channels can be
//! model-checked. (The crate-wide `crate::loom` shim has no `RwLock` yet;
//! this file is the stand-in until it does.)
#![allow(dead_code)]

#[cfg(not(loom))]
pub(crate) use parking_lot::{RwLock, RwLockReadGuard};

#[cfg(loom)]
pub(crate) use self::mocked::{RwLock, RwLockReadGuard};

#[cfg(loom)]
mod mocked {
    pub(crate) type RwLockReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
    pub(crate) type RwLockWriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

    /// A parking_lot-shaped `RwLock` over loom's (no poisoning).
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
}
