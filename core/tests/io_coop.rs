//! Cooperative budget: a socket that is always ready does not let its
//! reader starve other tasks on the same thread — reads and receives charge
//! the budget and force a yield once it is spent.
use runtime_core::io::{AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{UdpSocket, UnixStream};
use runtime_core::runtime::Builder;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const BYTES: usize = 64 * 1024;

#[test]
fn always_ready_stream_reader_yields() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        // Fill the socket up front: every 1-byte read below is ready.
        a.write_all(&vec![1u8; BYTES]).await.unwrap();
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let reader = runtime_core::spawn(async move {
            let mut buf = [0u8; 1];
            // The first read waits for the reactor to report the socket
            // readable; from then on every read is ready at once.
            b.read_exact(&mut buf).await.unwrap();
            // Spawned from inside the busy task, so it can only run if the
            // reader yields.
            let other = runtime_core::spawn(async move {
                other_ran.store(true, Ordering::SeqCst);
            });
            let mut saw_other_at = None;
            for i in 1..BYTES {
                b.read_exact(&mut buf).await.unwrap();
                if saw_other_at.is_none() && flag.load(Ordering::SeqCst) {
                    saw_other_at = Some(i);
                }
            }
            other.await.unwrap();
            saw_other_at
        });
        let saw = reader.await.unwrap();
        let at = saw.expect("the other task never ran while the reader was busy");
        assert!(at < BYTES / 2, "the other task only ran after {at} reads");
    });
}

#[test]
fn always_ready_udp_socket_yields() {
    // One queued datagram that `peek_from` never consumes keeps the socket
    // ready forever (queuing many datagrams would overflow the buffer).
    const PEEKS: usize = 2000;
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.send_to(b"peek", rx.local_addr().unwrap()).await.unwrap();
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        let receiver = runtime_core::spawn(async move {
            let mut buf = [0u8; 4];
            // Wait for the reactor to report readability once.
            rx.peek_from(&mut buf).await.unwrap();
            let other = runtime_core::spawn(async move {
                other_ran.store(true, Ordering::SeqCst);
            });
            let mut saw_other_at = None;
            for i in 0..PEEKS {
                let (n, _) = rx.peek_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"peek");
                if saw_other_at.is_none() && flag.load(Ordering::SeqCst) {
                    saw_other_at = Some(i);
                }
            }
            other.await.unwrap();
            saw_other_at
        });
        let saw = receiver.await.unwrap();
        let at = saw.expect("the other task never ran while the receiver was busy");
        assert!(at < PEEKS / 2, "the other task only ran after {at} peeks");
    });
}
