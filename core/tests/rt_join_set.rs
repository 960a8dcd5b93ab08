//! `JoinSet`: many tasks joined in completion order, aborted on drop.
use runtime_core::runtime::Builder;
use runtime_core::task::JoinSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn join_all_outputs() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..1000u64 {
            set.spawn(async move { i });
        }
        assert_eq!(set.len(), 1000);
        let mut seen = vec![false; 1000];
        while let Some(r) = set.join_next().await {
            seen[r.unwrap() as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn drop_aborts_all() {
    let rt = Builder::new_current_thread().build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..50 {
            let d = CountDrop(drops.clone());
            set.spawn(async move {
                let _d = d;
                std::future::pending::<()>().await
            });
        }
        runtime_core::task::yield_now().await;
        drop(set);
        // Let the aborted tasks be cancelled.
        for _ in 0..5 {
            runtime_core::task::yield_now().await;
        }
    });
    assert_eq!(drops.load(Ordering::SeqCst), 50);
}

#[test]
fn shutdown_and_abort_all() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..20 {
            set.spawn(std::future::pending::<()>());
        }
        set.spawn(async {});
        let mut cancelled = 0;
        set.abort_all();
        while let Some(r) = set.join_next().await {
            if let Err(e) = r {
                assert!(e.is_cancelled());
                cancelled += 1;
            }
        }
        assert!(cancelled >= 20);
        set.spawn(std::future::pending::<()>());
        set.shutdown().await;
        assert!(set.is_empty());
    });
}

#[test]
fn try_join_next_and_blocking() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none());
        set.spawn_blocking(|| 7);
        let v = set.join_next().await.unwrap().unwrap();
        assert_eq!(v, 7);
        let mut set2: JoinSet<u32> = JoinSet::new();
        set2.extend((0..10u32).map(|i| async move { i }));
        let mut all = set2.join_all().await;
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    });
}
