//! Stress: timers cancelled and reset while the driver fires them. Many
//! tasks on a multi-thread runtime each register a short timer, then reset
//! it (earlier or later), cancel it (drop, or lose a `timeout` race) or
//! await it, all around the moment it fires. An awaited timer never
//! completes before its latest deadline, and once everything is done no
//! timer is left registered in the wheel.
//!
//! Short mode (default): 10k timers. `STRESS_LONG=1`: 100k timers.
use runtime_core::runtime::Builder;
use runtime_core::task::yield_now;
use runtime_core::time::{registered_timers, sleep, timeout, Duration, Instant};
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

#[derive(Default)]
struct Counts {
    fired: AtomicUsize,
    cancelled: AtomicUsize,
    timed_out: AtomicUsize,
}

#[test]
fn timers_cancelled_and_reset_while_firing() {
    let total: usize = if long() { 100_000 } else { 10_000 };
    let rt = Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let counts = Arc::new(Counts::default());
    let mut rng = fastrand_seed(0x5eed);
    let handles: Vec<_> = (0..total)
        .map(|i| {
            let counts = counts.clone();
            let first = Duration::from_micros(next(&mut rng) % 2_000);
            let second = Duration::from_micros(next(&mut rng) % 2_000);
            rt.spawn(async move {
                let mut s = Box::pin(sleep(first));
                // Register it in the wheel (one poll), then let time pass so
                // the reset/cancel lands close to the firing.
                poll_fn(|cx| {
                    let _ = s.as_mut().poll(cx);
                    Poll::Ready(())
                })
                .await;
                for _ in 0..(i % 4) {
                    yield_now().await;
                }
                match i % 4 {
                    0 | 1 => {
                        let deadline = Instant::now() + second;
                        s.as_mut().reset(deadline);
                        s.as_mut().await;
                        assert!(Instant::now() >= deadline, "timer fired early");
                        counts.fired.fetch_add(1, SeqCst);
                    }
                    2 => {
                        drop(s);
                        counts.cancelled.fetch_add(1, SeqCst);
                    }
                    _ => match timeout(second, s).await {
                        Ok(()) => {
                            counts.fired.fetch_add(1, SeqCst);
                        }
                        Err(_) => {
                            counts.timed_out.fetch_add(1, SeqCst);
                        }
                    },
                }
            })
        })
        .collect();
    rt.block_on(async move {
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(registered_timers(), 0, "timers left in the wheel");
    });
    let c = &*counts;
    assert_eq!(c.cancelled.load(SeqCst), total / 4);
    assert!(c.fired.load(SeqCst) >= total / 2, "every reset timer fires");
    assert_eq!(
        c.fired.load(SeqCst) + c.cancelled.load(SeqCst) + c.timed_out.load(SeqCst),
        total
    );
}

#[test]
fn timers_reset_from_a_running_task_while_other_workers_drive() {
    // One task keeps pushing a single timer's deadline back while the
    // driver (on whichever worker parks) keeps reaching the old deadline.
    let rounds: usize = if long() { 100_000 } else { 10_000 };
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut s = Box::pin(sleep(Duration::from_micros(50)));
        for k in 0..rounds {
            let _ = poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx))).await;
            s.as_mut()
                .reset(Instant::now() + Duration::from_micros((k % 7) as u64 * 10));
            if k % 64 == 0 {
                yield_now().await;
            }
        }
        let deadline = Instant::now() + Duration::from_micros(100);
        s.as_mut().reset(deadline);
        s.as_mut().await;
        assert!(Instant::now() >= deadline);
        drop(s);
        assert_eq!(registered_timers(), 0);
    });
}

// A tiny xorshift so the test is reproducible without a dependency.
fn fastrand_seed(seed: u64) -> u64 {
    seed
}

fn next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}
