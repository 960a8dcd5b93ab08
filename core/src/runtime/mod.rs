//! The runtime: schedulers, drivers, the blocking pool. (Being built.)
pub(crate) mod driver;
