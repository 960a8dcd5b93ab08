//! The two sides of every Rust row, compiled from the same row sources.
//!
//! `ours` and `peer` each alias their runtime crate as `rt`, say how to build
//! a multi-thread runtime with N workers, and then include the very same row
//! files (`src/rows/*.rs`) with `#[path]`. The benchmark text is therefore
//! identical on both sides by construction; only `rt::` resolves differently.
//!
//! Rule for row files: use only `super::rt`, `super::runtime` and the
//! side-neutral helpers re-exported here; never name `tokio` or
//! `runtime_core` directly.

// Including each row file once per side is the point of this module.
#![allow(clippy::duplicate_mod)]

pub mod ours;
pub mod peer;
