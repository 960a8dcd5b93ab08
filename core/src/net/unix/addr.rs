//! Unix-domain socket addresses: the one place a `Path` given to `bind`,
//! `connect` or `send_to` becomes a socket address, and the clean-up of a
//! socket file that a failed `bind` created.
//!
//! Invariants:
//! - On Linux and Android a path whose first byte is NUL names an abstract
//!   socket: the bytes after it, whatever they are, are the name (as with
//!   std's `SocketAddrExt::from_abstract_name`, and Tokio). Elsewhere such
//!   a path is refused like any other path holding a NUL.
//! - Any other path is a pathname address and holds no NUL byte at all: one
//!   would make the kernel silently use the path cut short there, so it is
//!   refused with `io::ErrorKind::InvalidInput` (as std, mio and Tokio do).
//!   Too long a path is refused the same way.
//! - A socket file is removed only by a [`BoundFile`] made right after this
//!   process's own `bind` of it succeeded, so a file that another socket
//!   holds (a `bind` failing with `AddrInUse`) is never touched.
use socket2::SockAddr;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// `path` as a socket address (see the module docs for what is refused).
pub(crate) fn socket_addr(path: &Path) -> io::Result<SocketAddr> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;

        if let Some(name) = path.as_os_str().as_bytes().strip_prefix(b"\0") {
            return SocketAddr::from_abstract_name(name);
        }
    }
    SocketAddr::from_pathname(path)
}

/// `path` as a `socket2` address, for the calls std and mio offer no
/// `SocketAddr` variant of (or only without the flags the runtime needs).
///
/// `path` is checked by [`socket_addr`] first: `SockAddr::unix` copies the
/// bytes as they are, so the kernel would read a path with an interior NUL
/// only up to that NUL. After the check both encode the same address.
pub(crate) fn sock_addr(path: &Path) -> io::Result<SockAddr> {
    socket_addr(path)?;
    SockAddr::unix(path)
}

/// The socket file a `bind` just created, removed on drop unless
/// [`keep`](BoundFile::keep) is called: a `bind` that fails after the
/// socket was bound (no runtime to register with, `listen` failing, ...)
/// must not leave the path taken, or every later `bind` there would fail
/// with `AddrInUse`.
#[derive(Debug)]
pub(crate) struct BoundFile<'a> {
    /// `None` for abstract and unnamed addresses, which have no file.
    path: Option<&'a Path>,
}

impl<'a> BoundFile<'a> {
    /// Guards the file of `pathname` (the bound address's
    /// `as_pathname()`). Call only once this process's `bind` succeeded.
    pub(crate) fn new(pathname: Option<&'a Path>) -> BoundFile<'a> {
        BoundFile { path: pathname }
    }

    /// The socket is set up: the file stays (as with std and Tokio, it is
    /// not removed when the socket closes).
    pub(crate) fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for BoundFile<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.path {
            // Best effort: the original error is what the caller reports.
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pathname_and_nul_rules() {
        let addr = socket_addr(Path::new("/tmp/x.sock")).unwrap();
        assert_eq!(addr.as_pathname(), Some(Path::new("/tmp/x.sock")));
        for bad in ["/tmp/x\0y", "x\0", "/tmp/x.sock\0"] {
            let err = socket_addr(Path::new(bad)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            let err = sock_addr(Path::new(bad)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        let long = "x".repeat(200);
        let err = socket_addr(Path::new(&long)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn leading_nul_is_an_abstract_name() {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;

        let addr = socket_addr(Path::new("\0name\0with nul")).unwrap();
        assert_eq!(addr.as_abstract_name(), Some(&b"name\0with nul"[..]));
        assert_eq!(addr.as_pathname(), None);
        let sock = sock_addr(Path::new("\0name\0with nul")).unwrap();
        assert_eq!(sock.as_abstract_namespace(), Some(&b"name\0with nul"[..]));
    }

    #[test]
    fn bound_file_is_removed_unless_kept() {
        let dir = std::env::temp_dir().join(format!("rt-unix-addr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (dropped, kept) = (dir.join("dropped"), dir.join("kept"));
        std::fs::write(&dropped, b"").unwrap();
        std::fs::write(&kept, b"").unwrap();
        drop(BoundFile::new(Some(&dropped)));
        BoundFile::new(Some(&kept)).keep();
        drop(BoundFile::new(None));
        let (dropped_left, kept_left) = (dropped.exists(), kept.exists());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!dropped_left);
        assert!(kept_left);
    }
}
