//! Unix-domain echo round-trips: 1,000 concurrent stream connections, and
//! datagrams over `bind`/`unbound`/`pair` sockets.
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{UnixDatagram, UnixListener, UnixStream};
use runtime_core::runtime::Builder;
use std::path::PathBuf;

const CONNS: usize = 1000;

fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rt-io-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn thousand_concurrent_unix_stream_echoes() {
    raise_fd_limit(4 * CONNS as u64 + 256);
    let dir = temp_dir("stream");
    let path = dir.join("echo.sock");
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = runtime_core::spawn(async move {
            for _ in 0..CONNS {
                let (stream, _) = listener.accept().await.unwrap();
                runtime_core::spawn(async move {
                    let (mut rd, mut wr) = stream.into_split();
                    runtime_core::io::copy(&mut rd, &mut wr).await.unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                let path = path.clone();
                runtime_core::spawn(async move {
                    let mut s = UnixStream::connect(&path).await.unwrap();
                    let msg = format!("unix client {i}").repeat(50);
                    s.write_all(msg.as_bytes()).await.unwrap();
                    s.shutdown().await.unwrap();
                    let mut back = String::new();
                    s.read_to_string(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unix_datagram_echo() {
    let dir = temp_dir("dgram");
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let server_path = dir.join("server.sock");
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client_path = dir.join("client.sock");
        let client = UnixDatagram::bind(&client_path).unwrap();
        let echo = runtime_core::spawn(async move {
            let mut buf = [0u8; 128];
            for _ in 0..100 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                let from = from.as_pathname().unwrap().to_path_buf();
                server.send_to(&buf[..n], &from).await.unwrap();
            }
        });
        for i in 0..100 {
            let msg = format!("dgram {i}");
            client.send_to(msg.as_bytes(), &server_path).await.unwrap();
            let mut buf = [0u8; 128];
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.as_bytes());
            assert_eq!(from.as_pathname(), Some(server_path.as_path()));
        }
        echo.await.unwrap();

        // Connected pair and an unbound sender.
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"one").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"one");
        let unbound = UnixDatagram::unbound().unwrap();
        unbound.send_to(b"two", &client_path).await.unwrap();
        let (n, from) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"two");
        assert!(from.is_unnamed());
    });
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
}
