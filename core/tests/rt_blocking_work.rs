//! `Handle::spawn_blocking_work`: items with their own state on the
//! blocking pool. Each item gets exactly one of `run` / `cancel`, on the
//! right thread; a panicking item does not take its pool thread down; a
//! queued item keeps a paused clock from auto-advancing.
use runtime_core::runtime::{BlockingWork, Builder, Handle};
use runtime_core::time::{sleep, Instant};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// Records what the pool did with it.
#[derive(Default)]
struct Item {
    runs: AtomicUsize,
    cancels: AtomicUsize,
    thread: Mutex<Option<ThreadId>>,
    /// If set, `run` blocks until it receives.
    gate: Mutex<Option<mpsc::Receiver<()>>>,
    panic: bool,
}

impl BlockingWork for Item {
    fn run(self: Arc<Self>) {
        *self.thread.lock().unwrap() = Some(thread::current().id());
        // The pool runs items with the runtime entered.
        assert!(Handle::try_current().is_ok());
        if let Some(rx) = self.gate.lock().unwrap().take() {
            rx.recv().unwrap();
        }
        self.runs.fetch_add(1, SeqCst);
        if self.panic {
            panic!("item panicked on purpose");
        }
    }

    fn cancel(self: Arc<Self>) {
        *self.thread.lock().unwrap() = Some(thread::current().id());
        self.cancels.fetch_add(1, SeqCst);
    }
}

fn gated() -> (Arc<Item>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel();
    let item = Item {
        gate: Mutex::new(Some(rx)),
        ..Item::default()
    };
    (Arc::new(item), tx)
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn every_item_runs_once_on_a_pool_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .build()
        .unwrap();
    let items: Vec<Arc<Item>> = (0..1000).map(|_| Arc::default()).collect();
    for it in &items {
        rt.handle().spawn_blocking_work(it.clone());
    }
    wait_until("all items ran", || {
        items.iter().all(|i| i.runs.load(SeqCst) == 1)
    });
    let me = thread::current().id();
    for it in &items {
        assert_eq!(it.cancels.load(SeqCst), 0);
        assert_ne!(*it.thread.lock().unwrap(), Some(me));
    }
    assert!(rt.metrics().num_blocking_threads() <= 4);
}

#[test]
fn shutdown_cancels_queued_items_and_lets_running_ones_finish() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (running, open) = gated();
    rt.handle().spawn_blocking_work(running.clone());
    wait_until("the gated item started", || {
        running.thread.lock().unwrap().is_some()
    });
    let queued: Vec<Arc<Item>> = (0..10).map(|_| Arc::default()).collect();
    for it in &queued {
        rt.handle().spawn_blocking_work(it.clone());
    }
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        open.send(()).unwrap();
    });
    drop(rt); // waits for the running item, cancels the queued ones
    opener.join().unwrap();
    assert_eq!(running.runs.load(SeqCst), 1);
    assert_eq!(running.cancels.load(SeqCst), 0);
    for it in &queued {
        assert_eq!(it.runs.load(SeqCst), 0);
        assert_eq!(it.cancels.load(SeqCst), 1);
    }
}

#[test]
fn spawning_after_shutdown_cancels_on_the_calling_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    rt.shutdown_timeout(Duration::from_secs(5));
    let it = Arc::new(Item::default());
    handle.spawn_blocking_work(it.clone());
    // Cancelled before spawn_blocking_work returned, here.
    assert_eq!(it.cancels.load(SeqCst), 1);
    assert_eq!(it.runs.load(SeqCst), 0);
    assert_eq!(*it.thread.lock().unwrap(), Some(thread::current().id()));
}

#[test]
fn a_panicking_item_leaves_the_pool_working() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let bad = Arc::new(Item {
        panic: true,
        ..Item::default()
    });
    let good = Arc::new(Item::default());
    rt.handle().spawn_blocking_work(bad.clone());
    rt.handle().spawn_blocking_work(good.clone());
    wait_until("the item after the panic ran", || {
        good.runs.load(SeqCst) == 1
    });
    assert_eq!(bad.runs.load(SeqCst), 1);
    // The same (only) pool thread ran both.
    assert_eq!(*bad.thread.lock().unwrap(), *good.thread.lock().unwrap());
    assert_eq!(rt.metrics().num_blocking_threads(), 1);
}

#[test]
fn a_pending_item_inhibits_auto_advance() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let (item, open) = gated();
    rt.handle().spawn_blocking_work(item.clone());
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        open.send(()).unwrap();
    });
    rt.block_on(async {
        let start = Instant::now();
        // Were the clock to auto-advance while the item runs, this sleep
        // would finish at once, before the item.
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(
            item.runs.load(SeqCst),
            1,
            "clock advanced past a running item"
        );
        assert_eq!(Instant::now(), start + Duration::from_secs(3600));
    });
    opener.join().unwrap();
}
