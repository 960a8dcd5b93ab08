//! Stress: `abort()` racing completion. Each round spawns a task that
//! completes after a few yields and aborts it from a foreign thread at the
//! same time; the joiner sees the output or a cancellation, never anything
//! else, and every future is dropped exactly once.
//!
//! Short mode (default): 20k rounds. `STRESS_LONG=1`: 100k rounds.
use runtime_core::runtime::Builder;
use runtime_core::task::yield_now;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn abort_races_completion() {
    let rounds: usize = if long() { 100_000 } else { 20_000 };
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let batch = 100;
    let (mut ok, mut cancelled) = (0usize, 0usize);
    for b in 0..rounds / batch {
        let handles: Vec<_> = (0..batch)
            .map(|i| {
                let guard = CountDrop(drops.clone());
                let yields = (b + i) % 3;
                rt.spawn(async move {
                    let _g = guard;
                    for _ in 0..yields {
                        yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let aborts: Vec<_> = handles.iter().map(|h| h.abort_handle()).collect();
        let aborter = std::thread::spawn(move || {
            for a in aborts {
                a.abort();
            }
        });
        let results = rt.block_on(async move {
            let mut out = Vec::with_capacity(batch);
            for h in handles {
                out.push(h.await);
            }
            out
        });
        aborter.join().unwrap();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => {
                    assert_eq!(v, i);
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "unexpected error: {e:?}");
                    cancelled += 1;
                }
            }
        }
    }
    assert_eq!(ok + cancelled, rounds);
    assert_eq!(
        drops.load(SeqCst),
        rounds,
        "each future dropped exactly once"
    );
    drop(rt);
}

#[test]
fn abort_races_join_handle_drop_and_completion() {
    let rounds: usize = if long() { 100_000 } else { 20_000 };
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let batch = 200;
    for _ in 0..rounds / batch {
        let handles: Vec<_> = (0..batch)
            .map(|_| {
                let guard = CountDrop(drops.clone());
                rt.spawn(async move {
                    yield_now().await;
                    guard
                })
            })
            .collect();
        let aborts: Vec<_> = handles.iter().map(|h| h.abort_handle()).collect();
        let t1 = std::thread::spawn(move || drop(handles));
        let t2 = std::thread::spawn(move || {
            for a in &aborts {
                a.abort();
            }
            aborts
        });
        t1.join().unwrap();
        let aborts = t2.join().unwrap();
        // Every task terminates (completes or is cancelled).
        rt.block_on(async {
            while !aborts.iter().all(|a| a.is_finished()) {
                yield_now().await;
            }
        });
    }
    drop(rt);
    // Outputs (the guards) of completed tasks were dropped because their
    // JoinHandles were gone; cancelled futures dropped theirs.
    assert_eq!(drops.load(SeqCst), rounds);
}
