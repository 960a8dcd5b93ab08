//! TCP echo round-trips: 1,000 concurrent connections on loopback, served
//! by a multi-thread runtime, each checked byte for byte.
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{TcpListener, TcpStream};
use runtime_core::runtime::Builder;
use std::io::IoSlice;

const CONNS: usize = 1000;

/// Each connection holds two fds (client and server side).
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

#[test]
fn thousand_concurrent_echo_connections() {
    raise_fd_limit(4 * CONNS as u64 + 256);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
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
                runtime_core::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    assert!(s.nodelay().unwrap());
                    assert_eq!(s.peer_addr().unwrap(), addr);
                    // Enough data to cross several reads; part of it vectored.
                    let payload: Vec<u8> = (0..(4096 + i)).map(|b| (b * 7 + i) as u8).collect();
                    let (a, b) = payload.split_at(payload.len() / 2);
                    let n = s
                        .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                        .await
                        .unwrap();
                    s.write_all(&payload[n..]).await.unwrap();
                    let mut back = vec![0u8; payload.len()];
                    s.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, payload, "connection {i} echoed wrong bytes");
                    s.close().await.unwrap();
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).await.unwrap();
                    assert!(rest.is_empty());
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}
