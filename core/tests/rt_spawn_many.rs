//! Spawning and joining many tasks, on both flavors, including nested
//! spawns from inside tasks.
use runtime_core::runtime::{Builder, Runtime};

fn flavors() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "multi_thread",
            Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
        (
            "current_thread",
            Builder::new_current_thread().build().unwrap(),
        ),
    ]
}

#[test]
fn hundred_thousand_tasks_all_joined() {
    for (name, rt) in flavors() {
        let sum = rt.block_on(async {
            let handles: Vec<_> = (0..100_000u64)
                .map(|i| runtime_core::spawn(async move { i }))
                .collect();
            let mut sum = 0u64;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 100_000 * 99_999 / 2, "{name}");
        let mut alive = usize::MAX;
        for _ in 0..500 {
            alive = rt.metrics().num_alive_tasks();
            if alive == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(alive, 0, "{name}: tasks leaked");
        assert!(rt.metrics().spawned_tasks_count() >= 100_000, "{name}");
    }
}

#[test]
fn nested_spawns_from_inside_tasks() {
    for (name, rt) in flavors() {
        let total = rt.block_on(async {
            let outer: Vec<_> = (0..100u64)
                .map(|i| {
                    runtime_core::spawn(async move {
                        let inner: Vec<_> = (0..100u64)
                            .map(|j| runtime_core::spawn(async move { i * 100 + j }))
                            .collect();
                        let mut s = 0;
                        for h in inner {
                            s += h.await.unwrap();
                        }
                        s
                    })
                })
                .collect();
            let mut s = 0;
            for h in outer {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(total, (0..10_000u64).sum::<u64>(), "{name}");
    }
}

#[test]
fn spawn_from_outside_then_block_on_handle() {
    for (name, rt) in flavors() {
        let handles: Vec<_> = (0..1000u32)
            .map(|i| rt.spawn(async move { i * 2 }))
            .collect();
        let out = rt.block_on(async {
            let mut v = Vec::new();
            for h in handles {
                v.push(h.await.unwrap());
            }
            v
        });
        assert_eq!(
            out,
            (0..1000u32).map(|i| i * 2).collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn spawn_from_foreign_threads_via_handle() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let h = handle.clone();
            std::thread::spawn(move || {
                let hs: Vec<_> = (0..1000u64)
                    .map(|i| h.spawn(async move { t * 1000 + i }))
                    .collect();
                h.block_on(async move {
                    let mut s = 0;
                    for j in hs {
                        s += j.await.unwrap();
                    }
                    s
                })
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, (0..8000u64).sum::<u64>());
}
