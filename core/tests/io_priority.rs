//! `ready(Interest::PRIORITY)`: a TCP stream is registered for urgent data
//! (`EPOLLPRI`), so waiting for it ends when the peer sends `MSG_OOB`;
//! sockets that cannot report it (UDP, Unix-domain streams) refuse an
//! interest of `PRIORITY` alone with `InvalidInput` instead of waiting for
//! ever.
use runtime_core::io::Interest;
use runtime_core::net::{TcpStream, UdpSocket, UnixStream};
use runtime_core::runtime::Builder;
use runtime_core::time::{timeout, Duration};
use std::io;
use std::os::unix::io::AsRawFd;

fn rt() -> runtime_core::runtime::Runtime {
    Builder::new_current_thread().build().unwrap()
}

#[test]
fn tcp_ready_priority_sees_urgent_data() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    rt().block_on(async move {
        let s = TcpStream::from_std(server).unwrap();
        // SAFETY: a valid socket and a 1-byte buffer.
        let n = unsafe { libc::send(client.as_raw_fd(), b"X".as_ptr().cast(), 1, libc::MSG_OOB) };
        assert_eq!(n, 1);
        let r = timeout(Duration::from_secs(5), s.ready(Interest::PRIORITY))
            .await
            .expect("urgent data is pending but ready(PRIORITY) waits")
            .unwrap();
        assert!(r.is_priority());
    });
}

#[test]
fn sockets_without_urgent_data_refuse_priority_alone() {
    rt().block_on(async {
        let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let e = u.ready(Interest::PRIORITY).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let e = u.try_io(Interest::PRIORITY, || Ok(())).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        // Readable or priority: the readable part can happen.
        u.send_to(b"x", u.local_addr().unwrap()).await.unwrap();
        let r = u
            .ready(Interest::READABLE | Interest::PRIORITY)
            .await
            .unwrap();
        assert!(r.is_readable());

        let (a, _b) = UnixStream::pair().unwrap();
        let e = a.ready(Interest::PRIORITY).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let e = a.async_io(Interest::PRIORITY, || Ok(())).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let r = a.ready(Interest::WRITABLE).await.unwrap();
        assert!(r.is_writable());
    });
}
