//! Address resolution for `bind`/`connect`: std's [`ToSocketAddrs`],
//! resolved synchronously, each candidate tried in turn like Tokio does.
//!
//! Invariant: the error returned when every candidate fails is the last
//! candidate's real error (e.g. `ConnectionRefused`), and an input that
//! resolves to nothing gives `InvalidInput`.
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr` (literal addresses never block; host names use the
/// system resolver on the calling thread).
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    Ok(addr.to_socket_addrs()?.collect())
}

fn none_resolved() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Runs `f` on each address until one succeeds.
pub(crate) fn each_addr_sync<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in resolve(addr)? {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(none_resolved))
}

/// Awaits `f` on each address until one succeeds.
pub(crate) async fn each_addr<T, F, Fut>(addr: impl ToSocketAddrs, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr)? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(none_resolved))
}

/// The first address `addr` resolves to.
pub(crate) fn first(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    resolve(addr)?
        .into_iter()
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to"))
}
