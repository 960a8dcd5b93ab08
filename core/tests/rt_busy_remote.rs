//! Work submitted from outside keeps flowing while every worker is busy
//! with tasks that yield or keep spawning successors (no starvation of the
//! injection queue, no lost wakeups).
use runtime_core::runtime::Builder;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn stall() {
    let t = Instant::now();
    while t.elapsed() < Duration::from_micros(10) {
        std::hint::spin_loop();
    }
}

fn remote_round(rt: &runtime_core::runtime::Runtime, n: u64) -> u64 {
    let handles: Vec<_> = (0..n)
        .map(|i| rt.handle().spawn(async move { i }))
        .collect();
    rt.block_on(async {
        let mut s = 0;
        for h in handles {
            s += h.await.unwrap();
        }
        s
    })
}

#[test]
fn remote_spawns_while_workers_yield() {
    for workers in [1, 2] {
        let rt = Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .unwrap();
        let flag = Arc::new(AtomicBool::new(true));
        for _ in 0..2 * workers {
            let flag = flag.clone();
            rt.spawn(async move {
                while flag.load(Relaxed) {
                    runtime_core::task::yield_now().await;
                    stall();
                }
            });
        }
        for _ in 0..20 {
            assert_eq!(remote_round(&rt, 2_000), 1_999_000);
        }
        flag.store(false, Relaxed);
    }
}

fn busy_chain(flag: Arc<AtomicBool>) {
    runtime_core::spawn(async move {
        if flag.load(Relaxed) {
            stall();
            busy_chain(flag);
        }
    });
}

#[test]
fn remote_spawns_while_workers_chain_spawn() {
    for workers in [1, 2] {
        let rt = Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .unwrap();
        let flag = Arc::new(AtomicBool::new(true));
        for _ in 0..workers {
            let flag = flag.clone();
            rt.spawn(async move { busy_chain(flag) });
        }
        for _ in 0..5 {
            assert_eq!(remote_round(&rt, 200), 19_900);
        }
        flag.store(false, Relaxed);
    }
}

/// A worker whose local queue never empties (a chain that spawns its
/// successor) still drains remote spawns a batch at a time at each
/// injection-queue check, not one task per check: 1,000 remote tasks run
/// while the chain is polled far fewer than 1,000 times. Taking one task
/// per check (Tokio's rule) costs at least one chain tick (4 polls) per
/// remote task, over 4,000 polls.
#[test]
fn busy_worker_takes_remote_work_in_batches() {
    use std::sync::atomic::AtomicU64;
    static POLLS: AtomicU64 = AtomicU64::new(0);
    fn counted_chain(flag: Arc<AtomicBool>) {
        runtime_core::spawn(async move {
            if flag.load(Relaxed) {
                POLLS.fetch_add(1, Relaxed);
                stall();
                counted_chain(flag);
            }
        });
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let flag = Arc::new(AtomicBool::new(true));
    {
        let flag = flag.clone();
        rt.spawn(async move { counted_chain(flag) });
    }
    // Let the chain settle in (and the interval tune itself) first.
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..3 {
        let before = POLLS.load(Relaxed);
        assert_eq!(remote_round(&rt, 1_000), 499_500);
        let polls = POLLS.load(Relaxed) - before;
        assert!(
            polls < 1_000,
            "the chain was polled {polls} times while 1,000 remote tasks ran"
        );
    }
    flag.store(false, Relaxed);
}
