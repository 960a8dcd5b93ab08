//! Signal-safe socket writes.
//!
//! `write(2)`/`writev(2)` on a socket whose peer has gone raise `SIGPIPE`,
//! which kills a process that has not ignored it (a C host embedding the
//! runtime, say). The runtime never changes the process's signal
//! disposition; instead every stream write goes through `send`/`sendmsg`
//! with `MSG_NOSIGNAL`, so a vanished peer surfaces as `EPIPE`
//! (`io::ErrorKind::BrokenPipe`). `EINTR` is retried.
use std::io::{self, IoSlice};
use std::os::unix::io::RawFd;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "illumos",
    target_os = "solaris"
))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
// Apple platforms have no MSG_NOSIGNAL: there the runtime relies on the
// host ignoring SIGPIPE (Rust binaries do by default). Linux is the target.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "illumos",
    target_os = "solaris"
)))]
const NOSIGNAL: libc::c_int = 0;

/// The listen backlog of `TcpListener::bind` and `UnixListener::bind` (the
/// kernel caps it at `net.core.somaxconn`): bursts of concurrent connects
/// are queued rather than refused.
pub(crate) const LISTEN_BACKLOG: i32 = 1024;

/// Most buffers one `sendmsg` passes (Linux's `UIO_MAXIOV`).
const MAX_IOV: usize = 1024;

fn retry(mut f: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let n = f();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `send(fd, buf, MSG_NOSIGNAL)`.
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: `buf` is a valid, initialised slice for `buf.len()` bytes
        // for the duration of the call; `send` only reads it. An invalid
        // `fd` makes the call fail with EBADF, not undefined behaviour.
        unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), NOSIGNAL) as isize }
    })
}

/// `sendmsg(fd, bufs, MSG_NOSIGNAL)`: a vectored write without `SIGPIPE`.
pub(crate) fn send_vectored(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(MAX_IOV)];
    retry(|| {
        // SAFETY: an all-zero `msghdr` is a valid value (null name, no
        // control data); we then point it at `bufs`.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix, and
        // `sendmsg` only reads the iovecs and the memory they describe,
        // which `bufs` keeps alive and initialised for the call.
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = bufs.len() as _;
        // SAFETY: `msg` is fully initialised as described above and lives
        // across the call; an invalid `fd` yields EBADF.
        unsafe { libc::sendmsg(fd, &msg, NOSIGNAL) as isize }
    })
}

/// `sendto(socket, buf, MSG_NOSIGNAL, addr)` (the flag std's `send_to`
/// passes too), retrying `EINTR`.
pub(crate) fn send_to(
    socket: &impl std::os::fd::AsFd,
    buf: &[u8],
    addr: &socket2::SockAddr,
) -> io::Result<usize> {
    let socket = socket2::SockRef::from(socket);
    loop {
        match socket.send_to_with_flags(buf, addr, NOSIGNAL) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            res => return res,
        }
    }
}
