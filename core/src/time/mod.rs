//! Time: the hierarchical timing wheel, `sleep`, `timeout`, `interval`, and
//! the pausable clock.
//!
//! (Being built: see issue "Time driver". The driver contract used by the
//! scheduler is in [`driver`].)
mod clock;
pub(crate) use clock::Clock;
pub(crate) mod driver;

pub use std::time::Duration;
