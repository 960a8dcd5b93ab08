//! How I/O resources find the reactor of the runtime they are created in.
//!
//! Invariant: resources are bound to the reactor current at creation time
//! and keep a clone of its [`Handle`] for their whole life; outside a
//! runtime, creation fails with an `io::Error` (never a panic).
use crate::io::driver::Handle;
use std::cell::RefCell;
use std::io;

thread_local! {
    /// Reactor entered on this thread without a full runtime (unit tests).
    static ENTERED: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

fn no_runtime() -> io::Error {
    io::Error::other(
        "there is no reactor running: I/O resources must be created from within a runtime",
    )
}

/// The current runtime's reactor.
pub(crate) fn current() -> io::Result<Handle> {
    if let Some(h) = ENTERED.with(|c| c.borrow().clone()) {
        return Ok(h);
    }
    Err(no_runtime())
}

/// Makes `handle` current on this thread until the guard drops.
#[allow(dead_code)]
pub(crate) fn enter(handle: Handle) -> EnterGuard {
    let prev = ENTERED.with(|c| c.borrow_mut().replace(handle));
    EnterGuard { prev }
}

/// Restores the previously entered reactor on drop.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    prev: Option<Handle>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = ENTERED.try_with(|c| *c.borrow_mut() = prev);
    }
}
