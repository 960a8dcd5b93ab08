//! Connecting to a closed port, binding a used address, and resolving
//! nothing all return real `io::Error`s.
use runtime_core::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use runtime_core::runtime::Builder;
use std::io;

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn connect_to_closed_port() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let port = closed_port();
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        // Every candidate address is tried; the last error is reported.
        let addrs = [
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            std::net::SocketAddr::from(([127, 0, 0, 1], closed_port())),
        ];
        let err = TcpStream::connect(&addrs[..]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        // ... and the first that works wins.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ok = [addrs[0], l.local_addr().unwrap()];
        let s = TcpStream::connect(&ok[..]).await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    });
}

#[test]
fn bind_errors() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(l.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = UdpSocket::bind(u.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let none: &[std::net::SocketAddr] = &[];
        let err = TcpListener::bind(none).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = UnixStream::connect("/nonexistent/runtime-io.sock")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn sockets_outside_a_runtime_are_errors() {
    // No runtime: creation fails with an io::Error, it does not panic.
    assert!(futures::executor::block_on(TcpListener::bind("127.0.0.1:0")).is_err());
    assert!(UnixStream::pair().is_err());
    let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(UdpSocket::from_std(std_sock).is_err());
}
