//! Unit tests for the socket types, with the reactor driven by a plain
//! thread and tasks run on a `futures` `LocalPool` (no scheduler needed).
use crate::io::test_support::with_reactor;
use crate::io::{AsyncReadExt, AsyncWriteExt};
use crate::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;
use std::io;

#[test]
fn tcp_echo_many_connections() {
    with_reactor(|handle| {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        let listener = block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        const N: usize = 64;
        spawner
            .spawn_local(async move {
                for _ in 0..N {
                    let (mut s, _) = listener.accept().await.unwrap();
                    crate::io::test_support::spawn_local_detached(async move {
                        let (mut r, mut w) = TcpStream::split(&mut s);
                        crate::io::copy(&mut r, &mut w).await.unwrap();
                    });
                }
            })
            .unwrap();
        let results = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        for i in 0..N {
            let results = results.clone();
            spawner
                .spawn_local(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    let msg = format!("hello {i}");
                    s.write_all(msg.as_bytes()).await.unwrap();
                    s.close().await.unwrap();
                    let mut back = String::new();
                    s.read_to_string(&mut back).await.unwrap();
                    results.borrow_mut().push(back == msg);
                })
                .unwrap();
        }
        crate::io::test_support::run_pool(&mut pool);
        assert_eq!(results.borrow().len(), N);
        assert!(results.borrow().iter().all(|ok| *ok));
        drop(pool);
        assert_eq!(handle.num_registrations(), 0);
    });
}

#[test]
fn connect_refused_is_an_error() {
    with_reactor(|_| {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = block_on(TcpStream::connect(("127.0.0.1", port))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn bind_in_use_is_an_error() {
    with_reactor(|_| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = block_on(TcpListener::bind(l.local_addr().unwrap())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    });
}

#[test]
fn udp_round_trip() {
    with_reactor(|_| {
        block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            assert_eq!(from, a.local_addr().unwrap());
            b.connect(from).await.unwrap();
            b.send(b"pong").await.unwrap();
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"pong");
        })
    });
}

#[test]
fn unix_stream_half_close_and_reunite() {
    with_reactor(|_| {
        block_on(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let (mut rd, mut wr) = a.into_split();
            wr.write_all(b"abc").await.unwrap();
            wr.close().await.unwrap();
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"abc");
            // The other direction still works after the half-close.
            b.write_all(b"xyz").await.unwrap();
            let mut buf = [0u8; 3];
            rd.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"xyz");
            let (c, _d) = UnixStream::pair().unwrap();
            let (_crd, cwr) = c.into_split();
            let err = rd.reunite(cwr).unwrap_err();
            let (rd, _) = (err.0, err.1);
            let _ = rd;
        })
    });
}

#[test]
fn unix_listener_and_datagram() {
    with_reactor(|_| {
        let dir = std::env::temp_dir().join(format!("rtio-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let sock = dir.join("unit-stream.sock");
        let _ = std::fs::remove_file(&sock);
        block_on(async {
            let l = UnixListener::bind(&sock).unwrap();
            let (c, s) = futures::join!(UnixStream::connect(&sock), l.accept());
            let (mut c, (mut s, _)) = (c.unwrap(), s.unwrap());
            c.write_all(b"hi").await.unwrap();
            let mut buf = [0u8; 2];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");

            let dpath = dir.join("unit-dgram.sock");
            let _ = std::fs::remove_file(&dpath);
            let server = UnixDatagram::bind(&dpath).unwrap();
            let client = UnixDatagram::unbound().unwrap();
            client.send_to(b"dg", &dpath).await.unwrap();
            let mut buf = [0u8; 8];
            let (n, _) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"dg");
        });
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn write_to_vanished_peer_is_broken_pipe_not_sigpipe() {
    with_reactor(|_| {
        block_on(async {
            let (mut a, b) = UnixStream::pair().unwrap();
            drop(b);
            let err = a.write_all(&[0u8; 1 << 16]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
            let mut buf = [0u8; 4];
            assert_eq!(a.read(&mut buf).await.unwrap(), 0);
        })
    });
}

/// `into_std` hands the open socket back (so the peer keeps its
/// connection), `forget` drops a write half without shutting the write
/// direction down, and dropping the last half closes the socket; the halves'
/// `Debug` names the stream type. Run for both stream types, whose shared
/// surface comes from one macro over one generic core.
#[test]
fn std_round_trip_forget_and_debug_for_tcp_and_unix() {
    use std::io::Read;
    fn no_eof_then_eof(peer: &mut impl Read, last_half: impl Sized) {
        let mut buf = [0u8; 4];
        // Non-blocking std socket: `WouldBlock` means no EOF was sent.
        let err = peer.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(last_half);
        assert_eq!(peer.read(&mut buf).unwrap(), 0);
    }
    with_reactor(|_| {
        block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut a = UnixStream::from_std(a.into_std().unwrap()).unwrap();
            a.write_all(b"ux").await.unwrap();
            let mut peer = a.into_std().unwrap();
            let (mut rd, wr) = b.into_split();
            let mut buf = [0u8; 2];
            rd.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ux");
            assert!(format!("{rd:?}").starts_with("OwnedReadHalf { inner: UnixStream { fd: "));
            assert!(format!("{wr:?}").ends_with(" }, shutdown_on_drop: true }"));
            wr.forget();
            no_eof_then_eof(&mut peer, rd);

            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (c, s) = futures::join!(TcpStream::connect(addr), listener.accept());
            let c = TcpStream::from_std(c.unwrap().into_std().unwrap()).unwrap();
            let (mut s, _) = s.unwrap();
            s.write_all(b"tc").await.unwrap();
            let mut peer = s.into_std().unwrap();
            let (mut rd, wr) = c.into_split();
            rd.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"tc");
            assert_eq!(rd.peer_addr().unwrap(), addr);
            assert!(format!("{rd:?}").starts_with("OwnedReadHalf { inner: TcpStream { local: "));
            wr.forget();
            no_eof_then_eof(&mut peer, rd);
        })
    });
}
