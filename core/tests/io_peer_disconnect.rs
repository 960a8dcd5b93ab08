//! A peer vanishing mid-transfer surfaces as EOF / `BrokenPipe` /
//! `ConnectionReset` — never a panic or a SIGPIPE death — and the runtime
//! keeps serving other connections.
//!
//! The Rust test harness ignores SIGPIPE, which would hide a missing
//! `MSG_NOSIGNAL`; this binary restores the default disposition (death)
//! first, so a write that raised SIGPIPE would kill the test.
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{TcpListener, TcpStream, UnixStream};
use runtime_core::runtime::Builder;
use std::io::{self, IoSlice};

fn default_sigpipe() {
    // SAFETY: installing SIG_DFL for SIGPIPE has no memory-safety impact.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

#[test]
fn tcp_peer_vanishes_mid_transfer() {
    default_sigpipe();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime_core::spawn(async move {
            // First connection: read a little, then vanish.
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            s.read_exact(&mut buf).await.unwrap();
            drop(s);
            // Second connection: still served normally.
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        let chunk = vec![1u8; 64 * 1024];
        let err = loop {
            // Alternate plain and vectored writes: both must be signal-safe.
            let res = c.write_all(&chunk).await;
            let res = match res {
                Ok(()) => c
                    .write_vectored(&[IoSlice::new(&chunk), IoSlice::new(&chunk)])
                    .await
                    .map(drop),
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                break e;
            }
        };
        assert!(is_disconnect(&err), "unexpected error: {err:?}");
        // Reading a reset connection: an error or EOF, never a hang.
        let mut buf = [0u8; 16];
        match c.read(&mut buf).await {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert!(is_disconnect(&e), "{e:?}"),
        }

        let mut c2 = TcpStream::connect(addr).await.unwrap();
        c2.write_all(b"alive").await.unwrap();
        let mut buf = [0u8; 5];
        c2.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"alive");
        server.await.unwrap();
    });
}

#[test]
fn unix_peer_vanishes() {
    default_sigpipe();
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let (mut c, mut d) = UnixStream::pair().unwrap();
        drop(b);
        let err = a.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let err = a
            .write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(
            a.try_write(b"z").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        let mut buf = [0u8; 4];
        assert_eq!(a.read(&mut buf).await.unwrap(), 0, "EOF");
        // Another pair on the same runtime is unaffected.
        c.write_all(b"ok").await.unwrap();
        d.read_exact(&mut buf[..2]).await.unwrap();
        assert_eq!(&buf[..2], b"ok");
    });
}
