//! An I/O event delivered to an idle multi-thread runtime wakes exactly the
//! task waiting on that resource: the parked driver thread returns from
//! `epoll_wait`, and no other waiting task is polled.
use runtime_core::io::AsyncReadExt;
use runtime_core::net::UnixStream;
use runtime_core::runtime::Builder;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Counts how many times the inner future is polled.
struct Counted<F> {
    polls: Arc<AtomicUsize>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn event_on_idle_runtime_wakes_only_its_task() {
    const TASKS: usize = 16;
    let rt = Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let mut peers = Vec::new();
    let mut polls = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        peers.push(a);
        let count = Arc::new(AtomicUsize::new(0));
        polls.push(count.clone());
        let b = b;
        handles.push(rt.spawn(Counted {
            polls: count,
            inner: Box::pin(async move {
                let mut s = UnixStream::from_std(b).unwrap();
                let mut buf = [0u8; 1];
                s.read_exact(&mut buf).await.unwrap();
                buf[0]
            }),
        }));
    }
    // Let every task reach its wait and the workers go idle.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while polls.iter().any(|p| p.load(Ordering::SeqCst) == 0) {
        assert!(std::time::Instant::now() < deadline, "tasks never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let before: Vec<usize> = polls.iter().map(|p| p.load(Ordering::SeqCst)).collect();
    let metrics = rt.metrics();
    let polls_before = metrics.total_polls();
    let parks_before = metrics.total_parks();

    // An outside thread makes one socket readable.
    const TARGET: usize = 5;
    peers[TARGET].write_all(&[42]).unwrap();
    let got = rt.block_on(async { (&mut handles[TARGET]).await.unwrap() });
    assert_eq!(got, 42);
    // Workers publish their poll counts when they park again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while metrics.total_polls() == polls_before || metrics.total_parks() == parks_before {
        assert!(
            std::time::Instant::now() < deadline,
            "workers never re-parked"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        metrics.total_polls() - polls_before,
        1,
        "exactly one task poll (the woken task) while the runtime was idle"
    );

    for (i, p) in polls.iter().enumerate() {
        let now = p.load(Ordering::SeqCst);
        if i == TARGET {
            assert!(now > before[i], "the target task was polled again");
        } else {
            assert_eq!(now, before[i], "task {i} was woken spuriously");
        }
    }
    // Worker unpark counts are not asserted: whether the woken worker
    // notifies a sibling to steal is a scheduler heuristic, not I/O's.
    drop(peers);
    drop(rt);
}
