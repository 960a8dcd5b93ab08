//! # runtime-ffi: the C ABI of `runtime`
//!
//! Builds `libruntime.so` and `libruntime.a`; `include/runtime.h` is
//! generated from this crate by cbindgen (the `///` comments below become
//! the header's documentation).
//!
//! A thin layer over `runtime-core`: it converts between C and Rust
//! (pointers, callbacks, status codes) and schedules nothing itself. Every
//! `extern "C"` function goes through the boundary in [`error`]: panics are
//! caught (never unwinding into C), pointers are checked (NULL gives
//! `RT_ERR_NULL`), and the detail of each failure is kept for
//! `rt_last_error()`.
//!
//! ## Ownership conventions (all opaque types)
//! - `rt_runtime`, `rt_timer`, `rt_sleep`, `rt_watch`, `rt_fd`, `rt_waker`:
//!   one owner (a `Box`), released by the matching `*_free`.
//! - `rt_task`: one owner too, released by `rt_task_free`; behind it is one
//!   reference to the task's reference-counted join slot (the runtime holds
//!   the others while the task runs).
//! - `rt_work`: storage the caller owns (like `uv_work_t`); the runtime
//!   uses it from `rt_queue_work` until the item's `done` callback.
//! - `rt_completion`, `rt_queue`: reference-counted (`Arc`); each
//!   `*_new`/`*_clone` reference is released by one `*_free`.
//! - `void *arg` handed to the runtime with a `drop_arg` is owned by the
//!   runtime from a successful call until `drop_arg(arg)` runs, exactly
//!   once; on a failed call it stays the caller's and `drop_arg` is not
//!   called.

// The module docs describe the layer's internals and link to private
// items on purpose: they are read with `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

pub mod callback;
pub mod completion;
pub mod error;
pub mod fd;
mod fd_level;
pub mod queue;
pub mod runtime;
pub(crate) mod slot;
pub mod task;
pub mod timer;
pub mod waker;
pub mod work;
