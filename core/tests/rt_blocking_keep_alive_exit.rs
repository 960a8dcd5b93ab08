//! A blocking-pool thread that left at keep-alive is still waited for when
//! the runtime is dropped, as Tokio does (it joins the last such thread at
//! shutdown, and each one joins the one before): once `drop(runtime)`
//! returns, no pool thread of it is still running. What a thread does after
//! it counts itself out of the pool (its thread-local destructors, dropping
//! its runtime handle) used to run on a detached thread after the drop had
//! returned.
use runtime_core::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sleeps, then sets its flag, when the thread that owns it exits.
struct SlowExit(Arc<AtomicBool>);

impl Drop for SlowExit {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(300));
        self.0.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<SlowExit>> = const { std::cell::RefCell::new(None) };
}

/// Runs one blocking task that leaves a `SlowExit` in its thread, waits
/// until that thread has left the pool at keep-alive, drops the runtime and
/// returns whether the thread had finished by then.
fn exited_thread_finished_by_drop(rt: Runtime) -> bool {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    rt.block_on(rt.spawn_blocking(move || {
        ON_EXIT.with(|e| *e.borrow_mut() = Some(SlowExit(d)));
    }))
    .unwrap();
    let start = Instant::now();
    while rt.metrics().num_blocking_threads() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the pool thread did not leave at keep-alive"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The thread has counted itself out; its thread-local destructor is
    // now sleeping.
    assert!(!done.load(Ordering::SeqCst));
    drop(rt);
    done.load(Ordering::SeqCst)
}

/// Builds `b` with a 20 ms keep-alive and checks that dropping it waits for
/// a pool thread that already left at keep-alive.
fn assert_drop_waits_for_exited_thread(b: &mut Builder) {
    let rt = b
        .thread_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    assert!(
        exited_thread_finished_by_drop(rt),
        "drop(runtime) returned while a pool thread that left at keep-alive was still running"
    );
}

#[test]
fn drop_waits_for_a_thread_that_left_at_keep_alive_current_thread() {
    assert_drop_waits_for_exited_thread(&mut Builder::new_current_thread());
}

#[test]
fn drop_waits_for_a_thread_that_left_at_keep_alive_multi_thread() {
    assert_drop_waits_for_exited_thread(Builder::new_multi_thread().worker_threads(1));
}

/// Several threads leaving at keep-alive one after another: each is joined
/// by the next one to leave, the last by the drop.
#[test]
fn drop_waits_for_every_thread_that_left_at_keep_alive() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    let flags: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    // Three tasks at once, so three threads; each leaves a destructor.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let hs: Vec<_> = flags
        .iter()
        .map(|f| {
            let (f, rx) = (f.clone(), rx.clone());
            rt.spawn_blocking(move || {
                ON_EXIT.with(|e| *e.borrow_mut() = Some(SlowExit(f)));
                let _ = rx.lock().unwrap().recv();
            })
        })
        .collect();
    let start = Instant::now();
    while rt.metrics().num_blocking_threads() != 3 {
        assert!(start.elapsed() < Duration::from_secs(10), "three threads");
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(tx);
    for h in hs {
        rt.block_on(h).unwrap();
    }
    while rt.metrics().num_blocking_threads() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "keep-alive exits"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(rt);
    for (i, f) in flags.iter().enumerate() {
        assert!(
            f.load(Ordering::SeqCst),
            "pool thread {i} was still running after drop(runtime)"
        );
    }
}
