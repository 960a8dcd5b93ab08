//! A reader and a writer waiting on the same socket from two different
//! tasks at the same time: neither steals the other's wakeup.
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{TcpListener, TcpStream};
use runtime_core::runtime::Builder;
use std::io;
use std::sync::Arc;

const BULK: usize = 8 << 20; // far more than the socket buffers hold

#[test]
fn reader_and_writer_tasks_share_one_stream() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (c, s) = futures::join!(TcpStream::connect(addr), listener.accept());
        let (client, (mut peer, _)) = (c.unwrap(), s.unwrap());
        let client = Arc::new(client);

        // Reader task: waits for readability first (nothing arrives until
        // the peer has drained the whole bulk transfer).
        let rd = client.clone();
        let reader = runtime_core::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                rd.readable().await.unwrap();
                match rd.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
                if got.len() >= 5 {
                    break;
                }
            }
            got
        });

        // Writer task: blocks on writability many times while the reader
        // is parked on the same socket.
        let wr = client.clone();
        let writer = runtime_core::spawn(async move {
            let chunk = vec![7u8; 64 * 1024];
            let mut sent = 0;
            while sent < BULK {
                wr.writable().await.unwrap();
                match wr.try_write(&chunk[..chunk.len().min(BULK - sent)]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => panic!("{e}"),
                }
            }
            sent
        });

        // The peer drains everything, then answers.
        let mut total = 0;
        let mut buf = vec![0u8; 256 * 1024];
        while total < BULK {
            let n = peer.read(&mut buf).await.unwrap();
            assert!(n > 0);
            assert!(buf[..n].iter().all(|&b| b == 7));
            total += n;
        }
        peer.write_all(b"done!").await.unwrap();

        assert_eq!(writer.await.unwrap(), BULK);
        assert_eq!(reader.await.unwrap(), b"done!");
    });
}

#[test]
fn owned_halves_in_two_tasks() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = runtime_core::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.into_split();
            runtime_core::io::copy(&mut r, &mut w).await.unwrap();
        });
        let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let reader = runtime_core::spawn(async move {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await.unwrap();
            got
        });
        let writer = runtime_core::spawn(async move {
            let data: Vec<u8> = (0..BULK / 4).map(|i| i as u8).collect();
            wr.write_all(&data).await.unwrap();
            wr.close().await.unwrap();
            data
        });
        let data = writer.await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data);
        echo.await.unwrap();
    });
}
