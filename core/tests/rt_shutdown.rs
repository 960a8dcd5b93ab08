//! Shutdown: pending tasks' futures are dropped (on a runtime thread), their
//! joiners see cancellation, nothing hangs, threads are gone.
use runtime_core::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Probe {
    drops: Arc<AtomicUsize>,
    thread_names: Arc<Mutex<Vec<Option<String>>>>,
}
impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        self.thread_names
            .lock()
            .unwrap()
            .push(std::thread::current().name().map(String::from));
    }
}

fn check_pending_dropped(rt: Runtime, worker_name: &str) {
    let drops = Arc::new(AtomicUsize::new(0));
    let names = Arc::new(Mutex::new(Vec::new()));
    let mut joins = Vec::new();
    for _ in 0..100 {
        let p = Probe {
            drops: drops.clone(),
            thread_names: names.clone(),
        };
        joins.push(rt.spawn(async move {
            let _p = p;
            std::future::pending::<()>().await
        }));
    }
    rt.block_on(async {
        for _ in 0..5 {
            runtime_core::task::yield_now().await;
        }
    });
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 100);
    for j in joins {
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut j = j;
        match std::pin::Pin::new(&mut j).poll(&mut cx) {
            std::task::Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!("joiner not cancelled: {other:?}"),
        }
    }
    for n in names.lock().unwrap().iter() {
        assert_eq!(
            n.as_deref(),
            Some(worker_name),
            "future dropped off the runtime"
        );
    }
}

use std::future::Future;

#[test]
fn drop_runtime_with_pending_tasks_multi_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rt-shutdown-worker")
        .build()
        .unwrap();
    check_pending_dropped(rt, "rt-shutdown-worker");
}

#[test]
fn drop_runtime_with_pending_tasks_current_thread() {
    let rt = Builder::new_current_thread().build().unwrap();
    // Futures are dropped on the thread that drops the runtime.
    let me = std::thread::current().name().map(String::from).unwrap();
    check_pending_dropped(rt, &me);
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    drop(rt);
    let j = handle.spawn(async { 1 });
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut j = j;
    match std::pin::Pin::new(&mut j).poll(&mut cx) {
        std::task::Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        other => panic!("expected cancellation, got {other:?}"),
    }
}

#[test]
fn shutdown_timeout_does_not_wait_forever_for_blocking() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    rt.spawn_blocking(move || {
        s.store(1, Ordering::SeqCst);
        let _ = rx.recv_timeout(Duration::from_secs(30));
    });
    while started.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let t0 = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "shutdown_timeout hung"
    );
    drop(tx);
}

#[test]
fn queued_blocking_tasks_cancelled_on_shutdown() {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let first = rt.spawn_blocking(move || {
        let _ = rx.recv_timeout(Duration::from_secs(5));
    });
    let queued = rt.spawn_blocking(|| 1);
    std::thread::sleep(Duration::from_millis(20));
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(tx);
    });
    drop(rt);
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let (mut first, mut queued) = (first, queued);
    assert!(matches!(
        std::pin::Pin::new(&mut first).poll(&mut cx),
        std::task::Poll::Ready(Ok(()))
    ));
    match std::pin::Pin::new(&mut queued).poll(&mut cx) {
        std::task::Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        other => panic!("queued blocking task should be cancelled: {other:?}"),
    }
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn repeated_create_shutdown_leaks_no_threads() {
    let before = thread_count();
    for _ in 0..50 {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            runtime_core::spawn(async {}).await.unwrap();
            runtime_core::spawn_blocking(|| ()).await.unwrap();
        });
        drop(rt);
    }
    // Other tests in this binary run concurrently; allow their threads.
    let after = thread_count();
    assert!(
        after <= before + 16,
        "threads grew from {before} to {after}"
    );
}

#[test]
fn drop_runtime_inside_another_runtime_does_not_hang() {
    let outer = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let names = Arc::new(Mutex::new(Vec::new()));
    let (d, n) = (drops.clone(), names.clone());
    outer.block_on(async move {
        for inner in [
            Builder::new_current_thread().build().unwrap(),
            Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap(),
        ] {
            let p = Probe {
                drops: d.clone(),
                thread_names: n.clone(),
            };
            drop(inner.spawn(async move {
                let _p = p;
                std::future::pending::<()>().await
            }));
            drop(inner);
        }
    });
    // The multi-thread inner runtime's workers cancel their tasks on their
    // own threads; give them a bounded moment.
    for _ in 0..500 {
        if drops.load(Ordering::SeqCst) == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}
