//! Synchronisation primitives and channels for async code.
//!
//! (Being built: see issue "Sync primitives, channels, combinators and streams".)
