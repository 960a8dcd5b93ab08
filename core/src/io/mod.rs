//! Asynchronous I/O: the reactor (I/O driver) and [`AsyncFd`]-style
//! registration of file descriptors.
//!
//! (Being built: see issue "I/O driver". The driver contract used by the
//! scheduler is in [`driver`].)
pub(crate) mod driver;
