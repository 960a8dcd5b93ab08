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
