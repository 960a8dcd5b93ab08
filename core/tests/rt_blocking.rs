//! The blocking pool: more jobs than threads, `block_on` inside it, idle
//! threads exiting after keep-alive.
use runtime_core::runtime::Builder;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn more_jobs_than_threads() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .build()
        .unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    let cur = Arc::new(AtomicUsize::new(0));
    let sum = rt.block_on(async {
        let hs: Vec<_> = (0..64u64)
            .map(|i| {
                let (peak, cur) = (peak.clone(), cur.clone());
                runtime_core::spawn_blocking(move || {
                    let now = cur.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    cur.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, (0..64).sum::<u64>());
    assert!(
        peak.load(Ordering::SeqCst) <= 4,
        "ran on more threads than the cap"
    );
    assert!(rt.metrics().num_blocking_threads() <= 4);
}

#[test]
fn block_on_inside_spawn_blocking() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let v = rt.block_on(async {
        runtime_core::spawn_blocking(|| {
            let h = runtime_core::runtime::Handle::current();
            h.block_on(async { runtime_core::spawn(async { 21 * 2 }).await.unwrap() })
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 42);
}

#[test]
fn idle_threads_exit_after_keep_alive() {
    let rt = Builder::new_current_thread()
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..4)
            .map(|_| runtime_core::spawn_blocking(|| std::thread::sleep(Duration::from_millis(10))))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(rt.metrics().num_blocking_threads() >= 1);
    let mut n = usize::MAX;
    for _ in 0..200 {
        n = rt.metrics().num_blocking_threads();
        if n == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(n, 0, "idle blocking threads did not exit");
}

#[test]
fn panicking_blocking_task() {
    let rt = Builder::new_current_thread().build().unwrap();
    let err = rt
        .block_on(async { runtime_core::spawn_blocking(|| panic!("blocking boom")).await })
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
}

#[test]
fn thread_names_apply() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("custom-name")
        .build()
        .unwrap();
    let (a, b) = rt.block_on(async {
        let a = runtime_core::spawn(async { std::thread::current().name().map(String::from) })
            .await
            .unwrap();
        let b = runtime_core::spawn_blocking(|| std::thread::current().name().map(String::from))
            .await
            .unwrap();
        (a, b)
    });
    assert_eq!(a.as_deref(), Some("custom-name"));
    assert_eq!(b.as_deref(), Some("custom-name"));
}

/// Dropping a runtime right after its blocking pool ran work ends the pool
/// thread then, not after its keep-alive: a thread that just finished an
/// item (and is still looking for the next one) sees the shutdown at once.
/// The keep-alive is an hour here, so one missed shutdown notification
/// among the 200 cycles leaves a thread behind and hangs the wait for the
/// thread count to come back; the bound below is only that detector.
#[test]
fn drop_right_after_blocking_work_is_prompt() {
    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let base = threads();
        for i in 0..200 {
            let rt = if i % 2 == 0 {
                Builder::new_current_thread()
                    .thread_keep_alive(Duration::from_secs(3600))
                    .build()
                    .unwrap()
            } else {
                Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_keep_alive(Duration::from_secs(3600))
                    .build()
                    .unwrap()
            };
            let v = rt.block_on(async { runtime_core::spawn_blocking(|| 7).await.unwrap() });
            assert_eq!(v, 7);
            drop(rt);
            while threads() > base {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("a blocking-pool thread outlived its runtime (it waited out its keep-alive)");
}
