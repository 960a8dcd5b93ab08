//! `Handle::spawn_blocking_raw`: caller-owned items on the blocking pool.
//! Each item gets exactly one of `run` / `cancel` (with the reason), a
//! `RawBlockingWork` dropped unqueued is cancelled, and
//! `wait_blocking_idle` reports when detached work is over. Also
//! the pool's hand-off under bursts: no job is stranded by the lock-free
//! queue's spinning / sleeping protocol.
use runtime_core::runtime::{Builder, CancelReason, RawBlockingWork};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Caller-owned item state: what the pool did with it.
#[derive(Default)]
struct Item {
    runs: AtomicUsize,
    cancels: Mutex<Vec<CancelReason>>,
    /// If set, `run` blocks until it receives.
    gate: Mutex<Option<mpsc::Receiver<()>>>,
}

/// # Safety
/// `data` points to a live `Item`.
unsafe fn run(data: *mut ()) {
    // SAFETY: the tests keep every item alive until the pool is done.
    let it = unsafe { &*data.cast::<Item>() };
    if let Some(rx) = it.gate.lock().unwrap().take() {
        rx.recv().unwrap();
    }
    it.runs.fetch_add(1, SeqCst);
}

/// # Safety
/// As `run`.
unsafe fn cancel(data: *mut (), why: CancelReason) {
    // SAFETY: as in `run`.
    let it = unsafe { &*data.cast::<Item>() };
    it.cancels.lock().unwrap().push(why);
}

fn raw(it: &Item) -> RawBlockingWork {
    // SAFETY: `run`/`cancel` only read the item through a shared
    // reference, from any thread; every test keeps its items alive (and
    // unmoved) until it has seen `run` or `cancel` for each.
    unsafe { RawBlockingWork::new(it as *const Item as *mut (), run, cancel) }
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

fn finished(it: &Item) -> usize {
    it.runs.load(SeqCst) + it.cancels.lock().unwrap().len()
}

#[test]
fn every_item_runs_once() {
    let items: Vec<Item> = (0..2000).map(|_| Item::default()).collect();
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .build()
        .unwrap();
    for it in &items {
        rt.handle().spawn_blocking_raw(raw(it));
    }
    wait_until("all items ran", || {
        items.iter().all(|i| i.runs.load(SeqCst) == 1)
    });
    drop(rt);
    for it in &items {
        assert_eq!(it.runs.load(SeqCst), 1);
        assert!(it.cancels.lock().unwrap().is_empty());
    }
}

#[test]
fn shutdown_cancels_queued_items_with_the_reason() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let running = Item {
        gate: Mutex::new(Some(rx)),
        ..Item::default()
    };
    rt.handle().spawn_blocking_raw(raw(&running));
    wait_until("the gated item was taken", || {
        rt.metrics().blocking_queue_depth() == 0
    });
    let queued: Vec<Item> = (0..10).map(|_| Item::default()).collect();
    for it in &queued {
        rt.handle().spawn_blocking_raw(raw(it));
    }
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        tx.send(()).unwrap();
    });
    drop(rt); // waits for the running item, cancels the queued ones
    opener.join().unwrap();
    assert_eq!(running.runs.load(SeqCst), 1);
    assert!(running.cancels.lock().unwrap().is_empty());
    for it in &queued {
        assert_eq!(it.runs.load(SeqCst), 0);
        assert_eq!(*it.cancels.lock().unwrap(), [CancelReason::Shutdown]);
    }
}

#[test]
fn queueing_after_shutdown_cancels_at_once() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    rt.shutdown_timeout(Duration::from_secs(5));
    let it = Item::default();
    handle.spawn_blocking_raw(raw(&it));
    assert_eq!(*it.cancels.lock().unwrap(), [CancelReason::Shutdown]);
    assert_eq!(it.runs.load(SeqCst), 0);
}

#[test]
fn an_item_dropped_unqueued_is_cancelled() {
    let it = Item::default();
    drop(raw(&it));
    assert_eq!(*it.cancels.lock().unwrap(), [CancelReason::Dropped]);
    assert_eq!(it.runs.load(SeqCst), 0);
}

#[test]
fn wait_blocking_idle_covers_work_left_running() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    // Not shut down: times out.
    assert!(!handle.wait_blocking_idle(Some(Duration::from_millis(20))));
    let (tx, rx) = mpsc::channel();
    let it = Item {
        gate: Mutex::new(Some(rx)),
        ..Item::default()
    };
    handle.spawn_blocking_raw(raw(&it));
    wait_until("the item was taken", || {
        handle.metrics().blocking_queue_depth() == 0 && handle.metrics().num_blocking_threads() == 1
    });
    // The shutdown gives up on the running item, which goes on.
    rt.shutdown_timeout(Duration::from_millis(10));
    assert!(!handle.wait_blocking_idle(Some(Duration::from_millis(20))));
    assert_eq!(it.runs.load(SeqCst), 0);
    tx.send(()).unwrap();
    assert!(handle.wait_blocking_idle(Some(Duration::from_secs(10))));
    assert_eq!(it.runs.load(SeqCst), 1);
    assert!(handle.wait_blocking_idle(None));
}

/// Idle pool threads (kept alive for 10 s after their last job) do not
/// count: right after a shutdown with nothing running, a zero wait
/// succeeds.
#[test]
fn idle_threads_do_not_count_as_work() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let items: Vec<Item> = (0..8).map(|_| Item::default()).collect();
    for it in &items {
        handle.spawn_blocking_raw(raw(it));
    }
    wait_until("all items ran", || items.iter().all(|i| finished(i) == 1));
    rt.shutdown_timeout(Duration::ZERO);
    assert!(handle.wait_blocking_idle(Some(Duration::ZERO)));
}

/// Inside its own blocking work a thread waits for the other work only,
/// and knows it is inside.
#[test]
fn blocking_work_sees_itself_and_waits_for_the_rest_only() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    assert!(!handle.is_in_blocking_work());
    let h = handle.clone();
    let (tx, rx) = mpsc::channel();
    let inside = rt.spawn_blocking(move || {
        let me = h.is_in_blocking_work();
        rx.recv().unwrap(); // until the runtime is shut down
        (me, h.wait_blocking_idle(Some(Duration::from_secs(10))))
    });
    let other = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let h2 = handle.clone();
    // Another runtime's blocking work is not this runtime's.
    let elsewhere = other.spawn_blocking(move || h2.is_in_blocking_work());
    assert!(!other.block_on(elsewhere).unwrap());
    rt.shutdown_timeout(Duration::from_millis(10));
    tx.send(()).unwrap();
    let (me, idle) = other.block_on(inside).unwrap();
    assert!(
        me,
        "a spawn_blocking closure is inside its runtime's blocking work"
    );
    assert!(idle, "waited for itself");
}

/// Bursts of items with pauses between them, so that pool threads are
/// caught running, spinning, going to sleep and asleep: every item must
/// run. A lost hand-off leaves an item queued with every thread asleep, so
/// its burst never finishes and the wait below times out.
#[test]
fn bursts_with_pauses_strand_no_item() {
    for threads in [1, 2] {
        // Before the runtime, so that a failing assertion drops the
        // runtime (cancelling what is queued) before the items.
        let items: Vec<Item> = (0..12_000).map(|_| Item::default()).collect();
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(threads)
            .build()
            .unwrap();
        let mut pause = 0u64;
        let mut rest = &items[..];
        while !rest.is_empty() {
            let n = (pause as usize % 3 + 1).min(rest.len());
            let (burst, tail) = rest.split_at(n);
            rest = tail;
            for it in burst {
                rt.handle().spawn_blocking_raw(raw(it));
            }
            // Each burst finishes on its own: a stranded item shows up
            // here, before a later burst could wake a thread that takes it.
            let start = Instant::now();
            while burst.iter().any(|it| finished(it) == 0) {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "an item was stranded ({threads} pool threads)"
                );
                thread::yield_now();
            }
            // 0 to 40 µs: across the threads' spin-then-sleep window.
            pause = (pause * 7 + 13) % 41;
            let until = Instant::now() + Duration::from_micros(pause);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        drop(rt);
        assert!(items.iter().all(|i| i.runs.load(SeqCst) == 1));
    }
}

/// Spawners on several threads racing a shutdown: every item is run or
/// cancelled exactly once, none is left behind.
#[test]
fn spawners_racing_shutdown_lose_no_item() {
    for round in 0..20 {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let items: Vec<Item> = (0..800).map(|_| Item::default()).collect();
        thread::scope(|s| {
            for chunk in items.chunks(200) {
                let handle = handle.clone();
                s.spawn(move || {
                    for it in chunk {
                        handle.spawn_blocking_raw(raw(it));
                    }
                });
            }
            thread::sleep(Duration::from_micros(50 * (round % 5)));
            drop(rt);
        });
        for (i, it) in items.iter().enumerate() {
            assert_eq!(finished(it), 1, "round {round}, item {i}");
            for why in it.cancels.lock().unwrap().iter() {
                assert_eq!(*why, CancelReason::Shutdown);
            }
        }
    }
}

/// Two jobs where the first waits for the second, queued while a thread
/// spins after earlier work: the second must get a thread of its own (the
/// pool may grow to 4), never wait behind the first. A spawner that left
/// it to a spinner which was at that moment taking the first job would
/// deadlock the pair (the 2 s wait below fails instead).
#[test]
fn a_job_is_never_left_behind_a_job_that_waits_for_it() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .build()
        .unwrap();
    for i in 0..10_000 {
        rt.block_on(async {
            // A pool thread now spins, looking for work.
            runtime_core::task::spawn_blocking(|| ()).await.unwrap();
            let (tx, rx) = mpsc::channel::<()>();
            let first = runtime_core::task::spawn_blocking(move || {
                rx.recv_timeout(Duration::from_secs(2)).is_ok()
            });
            let second = runtime_core::task::spawn_blocking(move || tx.send(()).unwrap());
            assert!(
                first.await.unwrap(),
                "iteration {i}: the second job waited behind the first"
            );
            second.await.unwrap();
        });
    }
}

/// Spawners racing a shutdown that gives up at once, on a pool of one
/// thread: whatever was queued is still run or cancelled (by the last
/// thread, or by the shutdown itself), so the pool ends idle and every
/// item finished exactly once.
#[test]
fn a_shutdown_that_gives_up_at_once_strands_no_item() {
    for round in 0..50 {
        let items: Vec<Item> = (0..2000).map(|_| Item::default()).collect();
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let start = std::sync::Barrier::new(5);
        thread::scope(|s| {
            for chunk in items.chunks(500) {
                let (handle, start) = (handle.clone(), &start);
                s.spawn(move || {
                    start.wait();
                    for it in chunk {
                        handle.spawn_blocking_raw(raw(it));
                    }
                });
            }
            start.wait();
            // Shut down while the spawners are in full swing.
            thread::sleep(Duration::from_micros(50 + 25 * (round % 5)));
            rt.shutdown_timeout(Duration::ZERO);
        });
        assert!(
            handle.wait_blocking_idle(Some(Duration::from_secs(10))),
            "round {round}: an item was left queued"
        );
        for (i, it) in items.iter().enumerate() {
            assert_eq!(finished(it), 1, "round {round}, item {i}");
        }
    }
}

/// A job of one runtime whose code spawns into another, shut-down runtime
/// (cancelled at once, on this thread): code run by that cancel still
/// counts as inside the first runtime's blocking work.
#[test]
fn a_cancel_nested_in_another_runtimes_job_keeps_the_outer_mark() {
    struct Probe(runtime_core::runtime::Handle, mpsc::Sender<bool>);
    impl Drop for Probe {
        fn drop(&mut self) {
            let _ = self.1.send(self.0.is_in_blocking_work());
        }
    }
    let p = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let q = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let qh = q.handle().clone();
    q.shutdown_timeout(Duration::from_secs(5));
    let ph = p.handle().clone();
    let outer = p.spawn_blocking(move || {
        let (tx, rx) = mpsc::channel();
        let probe = Probe(ph.clone(), tx);
        // Cancelled at once: the closure (and the probe) is dropped here.
        drop(qh.spawn_blocking(move || drop(probe)));
        rx.recv_timeout(Duration::from_secs(5)).unwrap()
    });
    assert!(p.block_on(outer).unwrap(), "the outer job's mark was lost");
}
