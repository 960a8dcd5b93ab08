//! Declarative macros: [`join!`](crate::join), [`try_join!`](crate::try_join)
//! and [`select!`](crate::select), plus the hidden [`support`] module their
//! expansions reach through `$crate::macros::support`.
//!
//! All three multiplex several futures on the *current* task: nothing is
//! spawned, and the futures are pinned in the caller's async frame (no
//! allocation). They are `tt`-munchers that recurse once per branch, so any
//! count works within the default recursion limit (`select!` is capped at 64
//! branches by its `u64` "disabled" mask).
//!
//! The module is `pub` only so that expansions in other crates can name
//! `$crate::macros::support`; it is `#[doc(hidden)]` and not public API.

#[macro_use]
mod join;
#[macro_use]
mod try_join;
#[macro_use]
mod select;

#[doc(hidden)]
pub mod support;
