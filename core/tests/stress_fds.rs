//! Stress: file descriptors registered with and deregistered from the
//! reactor while events arrive on them. Socket pairs get `AsyncFd`s; a
//! writer thread keeps writing into them while tasks wait for readability,
//! drain, and drop their `AsyncFd` (deregistering) mid-stream. Nothing
//! hangs, nothing leaks an fd, and the runtime keeps working.
//!
//! Short mode (default): 1k registrations. `STRESS_LONG=1`: 10k.
use runtime_core::io::AsyncFd;
use runtime_core::runtime::Builder;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn register_and_deregister_while_events_arrive() {
    let total: usize = if long() { 10_000 } else { 1_000 };
    let batch = 100;
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    let base_fds = fds();
    let reads = Arc::new(AtomicUsize::new(0));
    for _ in 0..total / batch {
        let pairs: Vec<(UnixStream, UnixStream)> = (0..batch)
            .map(|_| {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                b.set_nonblocking(true).unwrap();
                (a, b)
            })
            .collect();
        let (readers, writers): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        // Events keep arriving while the readers register and deregister.
        let writer = std::thread::spawn(move || {
            let mut writers = writers;
            while !stop2.load(SeqCst) {
                for w in writers.iter_mut() {
                    let _ = w.write(b"x");
                }
                std::thread::yield_now();
            }
            writers
        });
        let handles: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let reads = reads.clone();
                rt.spawn(async move {
                    let fd = AsyncFd::new(r).unwrap();
                    // Odd ones are dropped right after registering, often
                    // while an event for them is being dispatched.
                    if i % 2 == 1 {
                        return;
                    }
                    let mut guard = fd.readable().await.unwrap();
                    let mut buf = [0u8; 64];
                    match guard.get_inner().read(&mut buf) {
                        Ok(n) => assert!(n > 0),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            guard.clear_ready();
                        }
                        Err(e) => panic!("read failed: {e}"),
                    }
                    reads.fetch_add(1, SeqCst);
                    drop(fd); // deregister with events still arriving
                })
            })
            .collect();
        rt.block_on(async move {
            for h in handles {
                h.await.unwrap();
            }
        });
        stop.store(true, SeqCst);
        drop(writer.join().unwrap());
    }
    assert_eq!(reads.load(SeqCst), total / 2);
    // The runtime still serves new registrations.
    rt.block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = AsyncFd::new(a).unwrap();
        b.write_all(b"y").unwrap();
        let _g = fd.readable().await.unwrap();
    });
    let now = fds();
    assert!(now <= base_fds, "fds leaked: {base_fds} -> {now}");
    drop(rt);
}
