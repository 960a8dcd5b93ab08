//! `sync::Barrier`: exactly one leader per generation, reuse across
//! generations.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::Barrier;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;

#[test]
fn one_leader_per_generation_across_threads() {
    const N: usize = 4;
    const GENERATIONS: usize = if cfg!(miri) { 5 } else { 50 };
    let b = Arc::new(Barrier::new(N));
    let leaders = Arc::new(AtomicUsize::new(0));
    let passed = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let (b, leaders, passed) = (b.clone(), leaders.clone(), passed.clone());
            std::thread::spawn(move || {
                for gen in 0..GENERATIONS {
                    // We have not arrived at `gen`, so nobody can have
                    // passed it: at most the N passes of each earlier one.
                    let before = passed.load(Ordering::SeqCst);
                    assert!(before <= gen * N, "a thread passed the barrier early");
                    if block_on(b.wait()).is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                    passed.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::SeqCst), GENERATIONS);
}

#[test]
fn waits_for_all_then_releases() {
    let b = Barrier::new(3);
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut a = pin!(b.wait());
    let mut c = pin!(b.wait());
    assert!(a.as_mut().poll(&mut cx).is_pending());
    assert!(c.as_mut().poll(&mut cx).is_pending());
    let mut last = pin!(b.wait());
    let r = match last.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        _ => panic!("third arrival completes the generation"),
    };
    assert!(r.is_leader());
    match (a.as_mut().poll(&mut cx), c.as_mut().poll(&mut cx)) {
        (std::task::Poll::Ready(x), std::task::Poll::Ready(y)) => {
            assert!(!x.is_leader() && !y.is_leader())
        }
        _ => panic!("all waiters released"),
    }
    // Barrier of size 1 (and 0, treated as 1) never waits.
    assert!(block_on(Barrier::new(1).wait()).is_leader());
    assert!(block_on(Barrier::new(0).wait()).is_leader());
}

#[test]
fn one_leader_per_generation_among_runtime_tasks() {
    const N: usize = 8;
    const GENERATIONS: usize = if cfg!(miri) { 3 } else { 100 };
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let leaders = rt.block_on(async {
        let b = Arc::new(Barrier::new(N));
        let hs: Vec<_> = (0..N)
            .map(|_| {
                let b = b.clone();
                runtime_core::spawn(async move {
                    let mut led = 0;
                    for _ in 0..GENERATIONS {
                        if b.wait().await.is_leader() {
                            led += 1;
                        }
                    }
                    led
                })
            })
            .collect();
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(leaders, GENERATIONS);
}
