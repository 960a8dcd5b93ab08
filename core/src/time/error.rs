//! Time error types.
use std::error;
use std::fmt;

/// Error returned by [`timeout`](super::timeout()) and
/// [`timeout_at`](super::timeout_at) when the deadline passes first.
///
/// ```
/// use runtime_core::time::{timeout, Duration};
///
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let never = std::future::pending::<()>();
/// let err = timeout(Duration::from_millis(1), never).await.unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Why a timer could not complete normally.
///
/// Timers in this crate report errors by panicking in `poll` (like Tokio's);
/// this type names the reason in those messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shutdown,
}

impl Error {
    /// The runtime the timer belonged to has shut down.
    pub(crate) fn shutdown() -> Error {
        Error(Kind::Shutdown)
    }

    /// Whether the error is caused by the runtime shutting down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self.0, Kind::Shutdown)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::Shutdown => f.write_str(super::SHUTDOWN_MSG),
        }
    }
}

impl error::Error for Error {}
