//! Registration churn: 100,000 register/deregister cycles leave the
//! reactor's slab empty (no deferred or leaked slots), whichever way the
//! resources go away.
use runtime_core::io::{AsyncFd, AsyncReadExt, AsyncWriteExt};
use runtime_core::net::{TcpListener, TcpStream, UnixStream};
use runtime_core::runtime::Builder;

fn registrations() -> usize {
    runtime_core::io::__registration_count().expect("inside a runtime")
}

#[test]
fn hundred_thousand_async_fd_cycles() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let base = registrations();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut a = Some(a);
        for i in 0..100_000 {
            let fd = AsyncFd::new(a.take().unwrap()).unwrap();
            if i % 2 == 0 {
                a = Some(fd.into_inner());
            } else {
                // Drop path: deregister, then hand the fd back via a dup.
                let dup = fd.get_ref().try_clone().unwrap();
                drop(fd);
                a = Some(dup);
            }
        }
        assert_eq!(registrations(), base);
    });
}

#[test]
fn sockets_and_split_halves_release_their_slots() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let base = registrations();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime_core::spawn(async move {
            for _ in 0..200 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                s.write_all(&b).await.unwrap();
            }
        });
        for _ in 0..200 {
            let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
            wr.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            rd.read_exact(&mut b).await.unwrap();
        }
        server.await.unwrap();
        // Tasks dropped while waiting also release their registration.
        let mut keep = Vec::new();
        for _ in 0..500 {
            let (mut a, b) = UnixStream::pair().unwrap();
            let h = runtime_core::spawn(async move {
                let mut buf = [0u8; 1];
                let _ = a.read(&mut buf).await;
            });
            h.abort();
            keep.push(b);
        }
        drop(keep);
        // Aborted tasks are dropped asynchronously by the workers; give
        // them a generous bound.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while registrations() != base && std::time::Instant::now() < deadline {
            runtime_core::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(registrations(), base, "leaked registrations");
    });
}
