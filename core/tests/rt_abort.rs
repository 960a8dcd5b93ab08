//! Cancellation: aborting idle, running and finished tasks.
use runtime_core::runtime::Builder;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn abort_idle_task_drops_future() {
    for rt in [
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        Builder::new_current_thread().build().unwrap(),
    ] {
        let dropped = Arc::new(AtomicBool::new(false));
        let d = SetOnDrop(dropped.clone());
        let h = rt.spawn(async move {
            let _d = d;
            std::future::pending::<()>().await;
        });
        rt.block_on(async {
            // Let it run and go idle.
            for _ in 0..10 {
                runtime_core::task::yield_now().await;
            }
        });
        assert!(!h.is_finished());
        h.abort();
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
        assert!(dropped.load(Ordering::SeqCst));
    }
}

#[test]
fn abort_before_first_poll() {
    let rt = Builder::new_current_thread().build().unwrap();
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let h = rt.spawn(async move {
        p.store(true, Ordering::SeqCst);
    });
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert!(
        !polled.load(Ordering::SeqCst),
        "an aborted task must not be polled"
    );
}

#[test]
fn abort_running_task_drops_after_current_poll() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let (s, d, p) = (started.clone(), SetOnDrop(dropped.clone()), polls.clone());
    let h = rt.spawn(async move {
        let _d = d;
        loop {
            p.fetch_add(1, Ordering::SeqCst);
            s.store(true, Ordering::SeqCst);
            // Busy inside a poll so abort() lands while running.
            std::thread::sleep(Duration::from_millis(20));
            runtime_core::task::yield_now().await;
        }
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert!(dropped.load(Ordering::SeqCst));
    let after = polls.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        after,
        "polled after abort completed"
    );
}

#[test]
fn abort_finished_task_keeps_output() {
    let rt = Builder::new_current_thread().build().unwrap();
    let h = rt.spawn(async { 5 });
    rt.block_on(async {
        runtime_core::task::yield_now().await;
    });
    assert!(h.is_finished());
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 5);
}

#[test]
fn abort_handle_outlives_join_handle() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = SetOnDrop(dropped.clone());
    let h = rt.spawn(async move {
        let _d = d;
        std::future::pending::<()>().await
    });
    let ah = h.abort_handle();
    let ah2 = ah.clone();
    assert_eq!(ah.id(), h.id());
    drop(h); // detach
    ah2.abort();
    for _ in 0..1000 {
        if ah.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(ah.is_finished());
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn abort_racing_completion() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..10_000u32 {
            let h = runtime_core::spawn(async move { i });
            if i % 2 == 0 {
                runtime_core::task::yield_now().await;
            }
            h.abort();
            match h.await {
                Ok(v) => assert_eq!(v, i),
                Err(e) => assert!(e.is_cancelled()),
            }
        }
    });
    // A joiner can observe completion a moment before the worker unlinks
    // the task from the owned list; give that a bounded moment.
    let mut alive = usize::MAX;
    for _ in 0..500 {
        alive = rt.metrics().num_alive_tasks();
        if alive == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(alive, 0, "tasks leaked");
}
