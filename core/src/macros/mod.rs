//! Declarative macros: `join!`, `try_join!`, `select!`.
//!
//! (Being built: see issue "Sync primitives, channels, combinators and streams".)
