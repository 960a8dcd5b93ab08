//! `runtime._runtime`: the native half of the `runtime` Python package.
//!
//! It binds `runtime-core` directly. Python callables run on runtime
//! threads with the GIL taken only around the call; every wait in Rust
//! (blocking `result()`, shutdown) releases the GIL. Outcomes reach asyncio
//! loops through one batched delivery queue per loop (see [`delivery`]).
//!
//! Module map: [`beacon`] (short GIL-free waits for the Executor),
//! [`cell`] (the completion state machine), [`task`]
//! (`Task`), [`completion`] (`Completion`), [`rt`] (`Runtime`),
//! [`timer`] (timers and `sleep`), [`fd`] (fd watchers), [`callbacks`]
//! (their callbacks, shown to the garbage collector), [`delivery`]
//! (asyncio batching), [`running_loop`] (finding the running asyncio
//! loop), [`errors`] (exception types, callback errors), [`off_gil`]
//! (dropping Python references on runtime threads, safely across `fork()`),
//! [`gil`] (runtime threads entering Python, and interpreter exit),
//! [`fork`] (telling a forked child from the process a runtime was made in).

// The module docs describe the internals and link to private items on
// purpose: they are read with `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

use pyo3::prelude::*;

mod beacon;
mod callbacks;
mod cell;
mod completion;
mod delivery;
mod errors;
mod fd;
mod fork;
mod gil;
mod off_gil;
mod rt;
mod running_loop;
mod task;
mod timer;

/// The extension module.
#[pymodule]
fn _runtime(m: &Bound<'_, PyModule>) -> PyResult<()> {
    off_gil::install();
    gil::install(m.py());
    m.add_class::<rt::PyRuntime>()?;
    m.add_class::<task::Task>()?;
    m.add_class::<completion::Completion>()?;
    m.add_class::<timer::TimerHandle>()?;
    m.add_class::<fd::FdWatch>()?;
    m.add_class::<beacon::Beacon>()?;
    m.add_function(pyo3::wrap_pyfunction!(delivery::_delivery_stats, m)?)?;
    m.add_function(pyo3::wrap_pyfunction!(
        running_loop::_running_loop_stats,
        m
    )?)?;
    m.add_function(pyo3::wrap_pyfunction!(running_loop::_running_loop, m)?)?;
    m.add_function(pyo3::wrap_pyfunction!(gil::_close_at_exit, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
