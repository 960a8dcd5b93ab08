//! Stress: many tasks spawned from foreign threads while the workers run
//! and steal. Every task runs exactly once and the runtime shuts down clean.
//!
//! Short mode (default): 100k tasks. `STRESS_LONG=1`: 1M tasks.
use runtime_core::runtime::Builder;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

/// Waits (generously: this is hang detection, not a timing check) until
/// `cond` holds.
fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn million_tasks_from_eight_foreign_threads() {
    let total: usize = if long() { 1_000_000 } else { 100_000 };
    let spawners = 8;
    let rt = Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..spawners)
        .map(|t| {
            let handle = rt.handle().clone();
            let ran = ran.clone();
            std::thread::spawn(move || {
                for i in 0..total / spawners {
                    let ran = ran.clone();
                    // Every 64th task fans out locally, so workers have
                    // local queues to steal from.
                    let fan = (i + t) % 64 == 0;
                    drop(handle.spawn(async move {
                        if fan {
                            for _ in 0..3 {
                                let ran = ran.clone();
                                drop(runtime_core::spawn(async move {
                                    ran.fetch_add(1, SeqCst);
                                }));
                            }
                        }
                        ran.fetch_add(1, SeqCst);
                    }));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let per = total / spawners;
    let fans: usize = (0..spawners)
        .map(|t| (0..per).filter(|i| (i + t) % 64 == 0).count())
        .sum();
    let expected = per * spawners + 3 * fans;
    wait_until("all tasks to run", Duration::from_secs(300), || {
        ran.load(SeqCst) >= expected
    });
    assert_eq!(ran.load(SeqCst), expected, "a task ran twice");
    assert_eq!(rt.metrics().spawned_tasks_count(), expected as u64);
    wait_until(
        "completed tasks to leave the owned list",
        Duration::from_secs(60),
        || rt.metrics().num_alive_tasks() == 0,
    );
    drop(rt);
    assert_eq!(ran.load(SeqCst), expected);
}

#[test]
fn joined_tasks_from_foreign_threads_return_their_output() {
    let total: usize = if long() { 200_000 } else { 20_000 };
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let handle = rt.handle().clone();
            std::thread::spawn(move || {
                let n = total as u64 / 4;
                let hs: Vec<_> = (0..n)
                    .map(|i| handle.spawn(async move { t * n + i }))
                    .collect();
                let sum: u64 = handle.block_on(async move {
                    let mut s = 0;
                    for h in hs {
                        s += h.await.unwrap();
                    }
                    s
                });
                let want: u64 = (0..n).map(|i| t * n + i).sum();
                assert_eq!(sum, want);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
