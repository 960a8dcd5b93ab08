//! Tasks: the unit of work the scheduler runs. (Being built.)
pub(crate) mod coop;

/// Spawns a future onto the current runtime. (Being built.)
pub fn spawn() {}
/// Runs a blocking closure on the blocking pool. (Being built.)
pub fn spawn_blocking() {}
