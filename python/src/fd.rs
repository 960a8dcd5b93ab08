//! File-descriptor watchers: `add_reader`/`add_writer` and friends.
use pyo3::prelude::*;

/// The runtime's table of fd watchers.
#[derive(Default)]
pub(crate) struct FdTable {}

impl FdTable {
    /// Cancels every watcher (runtime shutdown).
    pub(crate) fn clear(&self, _py: Python<'_>) {}
}
