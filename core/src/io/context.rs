//! How I/O resources find the reactor of the runtime they are created in.
//!
//! Invariant: resources are bound to the reactor current at creation time
//! and keep a clone of its [`Handle`] for their whole life; outside a
//! runtime, creation fails with an `io::Error` (never a panic).
use crate::io::driver::Handle;
use std::io;

#[cfg(test)]
thread_local! {
    /// Reactor entered on this thread without a full runtime (unit tests
    /// that drive `Driver::park_timeout` by hand).
    static ENTERED: std::cell::RefCell<Option<Handle>> = const { std::cell::RefCell::new(None) };
}

fn no_runtime() -> io::Error {
    io::Error::other(
        "there is no reactor running: I/O resources must be created from within a runtime",
    )
}

/// The current runtime's reactor.
pub(crate) fn current() -> io::Result<Handle> {
    #[cfg(test)]
    if let Some(h) = ENTERED.with(|c| c.borrow().clone()) {
        return Ok(h);
    }
    match crate::runtime::Handle::try_current() {
        Ok(rt) => Ok(rt.driver().io.clone()),
        Err(_) => Err(no_runtime()),
    }
}

/// Makes `handle` current on this thread until the guard drops (tests).
#[cfg(test)]
pub(crate) fn enter(handle: Handle) -> EnterGuard {
    let prev = ENTERED.with(|c| c.borrow_mut().replace(handle));
    EnterGuard { prev }
}

/// Restores the previously entered reactor on drop.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct EnterGuard {
    prev: Option<Handle>,
}

#[cfg(test)]
impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = ENTERED.try_with(|c| *c.borrow_mut() = prev);
    }
}
