//! Work stealing, shown through metrics: one worker spawns many CPU-bound
//! tasks and the others steal them. Idle workers park instead of spinning.
use runtime_core::runtime::Builder;
use std::time::Duration;

fn burn(us: u64) -> u64 {
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_micros(us) {
        x = x.wrapping_mul(31).wrapping_add(7);
        std::hint::black_box(x);
    }
    x
}

#[test]
fn siblings_steal_from_a_busy_worker() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        runtime_core::spawn(async {
            let hs: Vec<_> = (0..400)
                .map(|_| runtime_core::spawn(async { burn(200) }))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    let m = rt.metrics();
    assert!(m.total_steals() > 0, "no work was stolen");
    assert!(m.total_polls() >= 400);
}

#[test]
fn idle_runtime_parks_instead_of_spinning() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        runtime_core::spawn(async {}).await.unwrap();
    });
    std::thread::sleep(Duration::from_millis(50));
    let polls_before = rt.metrics().total_polls();
    let parks_before = rt.metrics().total_parks();
    std::thread::sleep(Duration::from_millis(200));
    // No task ran and nobody woke up to look for work.
    assert_eq!(rt.metrics().total_polls(), polls_before);
    assert_eq!(rt.metrics().total_parks(), parks_before);
}

#[test]
fn metrics_counters() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let m = rt.metrics();
    assert_eq!(m.num_workers(), 2);
    rt.block_on(async {
        for _ in 0..10 {
            runtime_core::spawn(async {}).await.unwrap();
        }
    });
    assert_eq!(m.spawned_tasks_count(), 10);
    assert!(m.remote_schedule_count() >= 10);
    for _ in 0..500 {
        if m.num_alive_tasks() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(m.num_alive_tasks(), 0);
    assert_eq!(m.injection_queue_depth(), 0);
    let _ = (
        m.worker_local_queue_depth(0),
        m.worker_unpark_count(1),
        m.worker_steal_operations(0),
    );
}
