//! Runtime shutdown: I/O futures still waiting on the dead reactor resolve
//! to an `io::Error` instead of hanging, and new registrations fail.
use runtime_core::io::{AsyncFd, AsyncReadExt};
use runtime_core::net::UnixStream;
use runtime_core::runtime::Builder;
use std::time::Duration;

#[test]
fn waiters_outside_the_runtime_fail_after_shutdown() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (mut a, b) = rt.block_on(async { UnixStream::pair().unwrap() });
    let (r, _w) = std::os::unix::net::UnixStream::pair().unwrap();
    r.set_nonblocking(true).unwrap();
    let fd = rt.block_on(async { AsyncFd::new(r).unwrap() });

    // A foreign thread waits on the runtime's reactor.
    let waiter = std::thread::spawn(move || {
        futures::executor::block_on(async {
            let res = fd.readable().await.map(|_| ());
            (res, fd)
        })
    });
    std::thread::sleep(Duration::from_millis(50));
    rt.shutdown_timeout(Duration::from_secs(5));

    let (res, fd) = waiter.join().unwrap();
    assert!(res.is_err(), "a waiter must fail once the reactor is gone");
    drop(fd);

    let mut buf = [0u8; 1];
    let err = futures::executor::block_on(a.read(&mut buf)).unwrap_err();
    assert!(err.to_string().contains("shutting down"), "{err}");
    drop(b);
}

#[test]
fn tasks_waiting_on_io_are_dropped_at_shutdown() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    struct OnDrop(std::sync::mpsc::Sender<()>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let _peer = rt.block_on(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        runtime_core::spawn(async move {
            let _guard = OnDrop(tx);
            started_tx.send(()).unwrap();
            let mut buf = [0u8; 1];
            let _ = a.read(&mut buf).await;
        });
        b
    });
    // Only shut down once the task is really parked on the socket.
    started_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("task started");
    std::thread::sleep(Duration::from_millis(20));
    drop(rt);
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the waiting task was dropped by shutdown");
}
