//! Unix-domain socket addresses: Linux abstract names ("\0name") work for
//! every bind, connect and `send_to`; a NUL anywhere but first is refused
//! with `InvalidInput` (never a silently truncated path); and a `bind` that
//! fails (here: outside a runtime) leaves no socket file behind.
use runtime_core::net::{UnixDatagram, UnixListener, UnixStream};
use runtime_core::runtime::{Builder, Runtime};
use std::io;
use std::path::{Path, PathBuf};

fn rt() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// A fresh, empty directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("rt-io-addr-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An abstract name unique to this process and test.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_name(tag: &str) -> String {
    format!("\0rt-io-addr-{tag}-{}", std::process::id())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod abstract_names {
    use super::*;
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;

    #[test]
    fn unix_stream_connects_to_abstract_name() {
        rt().block_on(async {
            let name = abstract_name("stream");
            let l = UnixListener::bind(&name).unwrap();
            let c = UnixStream::connect(&name).await;
            assert!(c.is_ok(), "connect to abstract {name:?}: {:?}", c.err());
            let c = c.unwrap();
            let (s, _) = l.accept().await.unwrap();

            let want = &name.as_bytes()[1..];
            let local = l.local_addr().unwrap();
            assert_eq!(local.as_abstract_name(), Some(want));
            assert_eq!(local.as_pathname(), None);
            assert!(!local.is_unnamed());
            assert_eq!(c.peer_addr().unwrap().as_abstract_name(), Some(want));
            assert_eq!(s.local_addr().unwrap().as_abstract_name(), Some(want));
            assert!(c.local_addr().unwrap().is_unnamed());
        });
    }

    #[test]
    fn unix_datagram_abstract_names() {
        rt().block_on(async {
            let name = abstract_name("dgram");
            let d = UnixDatagram::bind(&name).unwrap();
            let c = UnixDatagram::unbound().unwrap();
            c.send_to(b"x", &name)
                .await
                .expect("send_to an abstract name");
            assert_eq!(c.try_send_to(b"yz", &name).unwrap(), 2);
            c.connect(&name).expect("connect to an abstract name");
            c.send(b"abc").await.unwrap();
            let mut buf = [0u8; 4];
            assert_eq!(d.recv(&mut buf).await.unwrap(), 1);
            assert_eq!(d.recv(&mut buf).await.unwrap(), 2);
            assert_eq!(d.recv(&mut buf).await.unwrap(), 3);

            let want = &name.as_bytes()[1..];
            assert_eq!(d.local_addr().unwrap().as_abstract_name(), Some(want));
            assert_eq!(c.peer_addr().unwrap().as_abstract_name(), Some(want));
        });
    }

    #[test]
    fn abstract_sender_address_round_trips() {
        rt().block_on(async {
            let (a_name, b_name) = (abstract_name("from-a"), abstract_name("from-b"));
            let a = UnixDatagram::bind(&a_name).unwrap();
            let b = UnixDatagram::bind(&b_name).unwrap();
            a.send_to(b"hi", &b_name).await.unwrap();
            let mut buf = [0u8; 4];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hi");
            assert_eq!(from.as_abstract_name(), Some(&a_name.as_bytes()[1..]));
        });
    }

    #[test]
    fn abstract_name_in_use_is_addr_in_use() {
        rt().block_on(async {
            let name = abstract_name("in-use-stream");
            let _l = UnixListener::bind(&name).unwrap();
            let err = UnixListener::bind(&name).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
            let name = abstract_name("in-use-dgram");
            let _d = UnixDatagram::bind(&name).unwrap();
            let err = UnixDatagram::bind(&name).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        });
    }

    #[test]
    fn connect_to_unbound_abstract_name_is_refused() {
        rt().block_on(async {
            let name = abstract_name("nobody");
            let err = UnixStream::connect(&name).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        });
    }
}

#[test]
fn unix_listener_bind_refuses_interior_nul() {
    let dir = TempDir::new("nul-listener");
    let res = rt().block_on(async { UnixListener::bind(dir.path().join("sock\0junk")) });
    assert!(!dir.path().join("sock").exists());
    assert_eq!(res.unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn datagram_bind_connect_and_send_to_refuse_interior_nul() {
    let dir = TempDir::new("nul-dgram");
    let bad = dir.path().join("sock\0junk");
    rt().block_on(async {
        let err = UnixDatagram::bind(&bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(!dir.path().join("sock").exists());

        // A socket does exist at the truncated path: it must not be reached.
        let target = UnixDatagram::bind(dir.path().join("sock")).unwrap();
        let c = UnixDatagram::unbound().unwrap();
        let err = c.send_to(b"x", &bad).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = c.try_send_to(b"x", &bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = c.connect(&bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            target.try_recv(&mut [0u8; 4]).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    });
}

#[test]
fn stream_connect_refuses_interior_nul() {
    let dir = TempDir::new("nul-stream");
    rt().block_on(async {
        let _l = UnixListener::bind(dir.path().join("sock")).unwrap();
        let err = UnixStream::connect(dir.path().join("sock\0junk"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn failed_unix_bind_outside_runtime_leaves_no_socket_file() {
    let dir = TempDir::new("orphan-listener");
    let path = dir.path().join("sock");
    assert!(UnixListener::bind(&path).is_err(), "no runtime");
    assert!(!path.exists());
    rt().block_on(async { UnixListener::bind(&path).map(drop) })
        .unwrap();
}

#[test]
fn failed_datagram_bind_outside_runtime_leaves_no_socket_file() {
    let dir = TempDir::new("orphan-dgram");
    let path = dir.path().join("sock");
    assert!(UnixDatagram::bind(&path).is_err(), "no runtime");
    assert!(!path.exists());
    rt().block_on(async { UnixDatagram::bind(&path).map(drop) })
        .unwrap();
}

#[test]
fn bind_on_an_existing_path_leaves_the_file_alone() {
    // A bind that fails because the path is taken must not remove what
    // is there: the file belongs to someone else.
    let dir = TempDir::new("in-use");
    let path = dir.path().join("sock");
    rt().block_on(async {
        let _l = UnixListener::bind(&path).unwrap();
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let err = UnixDatagram::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(path.exists());
        let _c = UnixStream::connect(&path).await.unwrap();
    });
    // Outside a runtime too.
    assert!(UnixListener::bind(&path).is_err());
    assert!(UnixDatagram::bind(&path).is_err());
    assert!(path.exists());
}

#[test]
fn pathname_addresses_are_unchanged() {
    let dir = TempDir::new("pathname");
    let path = dir.path().join("sock");
    rt().block_on(async {
        let l = UnixListener::bind(&path).unwrap();
        assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let c = UnixStream::connect(&path).await.unwrap();
        assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
        let _ = l.accept().await.unwrap();
    });
}
