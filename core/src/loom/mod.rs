//! A shim that lets concurrency code be model-checked with `loom`.
//!
//! Code that must be checked by `loom` imports atomics, `Arc`, `Mutex`,
//! `Condvar`, `UnsafeCell` and thread spawning from here instead of `std`.
//! Under `--cfg loom` they are loom's instrumented versions; otherwise they
//! are std's types, the locks wrapped by [`crate::locks`] into the same
//! (sub)set of methods.
//!
//! Invariant: the API surface of both halves is identical for everything this
//! crate uses, so a module compiles unchanged under either configuration.
#![allow(unused_imports, dead_code)]

#[cfg(loom)]
mod mocked;
#[cfg(loom)]
pub(crate) use mocked::*;

#[cfg(not(loom))]
mod std_impl;
#[cfg(not(loom))]
pub(crate) use std_impl::*;
