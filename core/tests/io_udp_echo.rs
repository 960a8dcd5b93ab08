//! UDP echo round-trips: 1,000 client sockets against one server socket.
//!
//! Loopback UDP still drops datagrams when a receive buffer overflows, so
//! at most `IN_FLIGHT` requests are outstanding at once (a token channel
//! acts as a semaphore); all 1,000 sockets stay open concurrently.
use futures::channel::mpsc;
use futures::lock::Mutex;
use futures::{SinkExt, StreamExt};
use runtime_core::net::UdpSocket;
use runtime_core::runtime::Builder;
use std::sync::Arc;

const CLIENTS: usize = 1000;
const IN_FLIGHT: usize = 32;

#[test]
fn thousand_udp_clients_echo() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = server.local_addr().unwrap();
        let srv = server.clone();
        let server_task = runtime_core::spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..CLIENTS {
                let (n, from) = srv.recv_from(&mut buf).await.unwrap();
                srv.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let (tx, rx) = mpsc::channel::<()>(IN_FLIGHT);
        let mut filler = tx.clone();
        for _ in 0..IN_FLIGHT {
            filler.send(()).await.unwrap();
        }
        let permits = Arc::new(Mutex::new(rx));
        let mut sockets = Vec::new();
        for _ in 0..CLIENTS {
            sockets.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        }
        let tasks: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(i, sock)| {
                let permits = permits.clone();
                let mut tx = tx.clone();
                runtime_core::spawn(async move {
                    permits.lock().await.next().await.unwrap();
                    sock.connect(addr).await.unwrap();
                    let msg = format!("datagram {i}");
                    sock.send(msg.as_bytes()).await.unwrap();
                    let mut buf = [0u8; 64];
                    let n = sock.recv(&mut buf).await.unwrap();
                    assert_eq!(&buf[..n], msg.as_bytes());
                    tx.send(()).await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        server_task.await.unwrap();
    });
}
