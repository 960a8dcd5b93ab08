//! Level-triggered registrations: the one place the reactor's poll is used
//! outside mio's API (OS-specific; Linux `epoll` only).
//!
//! mio registers every source edge-triggered. A level-triggered entry is
//! added to the same epoll instance (`mio::Registry`'s fd) with the same
//! token encoding, so its events reach [`ScheduledIo`] through the normal
//! dispatch; only the `EPOLLET` flag is missing, so epoll reports the entry
//! on every poll for as long as the fd stays ready. mio's Linux selector
//! keeps no per-fd state, so `Registry::deregister` (`EPOLL_CTL_DEL`)
//! removes these entries like any other.
//!
//! Invariants: only the read and write interests asked for are
//! registered (a ready direction nobody waits for would make every poll
//! return at once), and `EPOLLRDHUP` is not, so a read-closed report
//! always means `EPOLLHUP`.
//!
//! [`ScheduledIo`]: crate::io::scheduled_io::ScheduledIo
use crate::io::Interest;
use std::io;
use std::os::unix::io::RawFd;

/// Adds `fd` to the epoll instance `epfd` level-triggered for `interest`,
/// reporting `token`.
#[cfg(target_os = "linux")]
pub(crate) fn add(epfd: RawFd, fd: RawFd, token: mio::Token, interest: Interest) -> io::Result<()> {
    let mut events = 0u32;
    if interest.is_readable() {
        events |= libc::EPOLLIN as u32;
    }
    if interest.is_writable() {
        events |= libc::EPOLLOUT as u32;
    }
    if interest.is_priority() {
        events |= libc::EPOLLPRI as u32;
    }
    let mut ev = libc::epoll_event {
        events,
        u64: token.0 as u64,
    };
    // SAFETY: `ev` is a valid, initialized epoll_event that outlives the
    // call; epoll_ctl reads it and reports bad fds through its result.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Level-triggered registration needs epoll.
#[cfg(not(target_os = "linux"))]
pub(crate) fn add(
    _epfd: RawFd,
    _fd: RawFd,
    _token: mio::Token,
    _interest: Interest,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "level-triggered registration needs Linux epoll",
    ))
}
