//! Stress: wake storms. Many threads wake the same task (by value and by
//! reference) as fast as they can while it is polled; the task sees every
//! wake's effect, is never polled concurrently, and is polled at most once
//! per wake plus once.
//!
//! The task's waker lives in a slot that counts every wake made through it
//! before making it (`Storm::wake`). futures' `AtomicWaker` is not used: its
//! `register` wakes the new waker itself when a `wake` is in progress, a
//! wake no caller counts, so "polls <= wakes + 1" did not hold for it even
//! on a correct scheduler (the test failed about 1 run in 25 that way).
//!
//! Short mode (default): 8 threads x 5k wakes. `STRESS_LONG=1`: x 100k.
use runtime_core::runtime::Builder;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

struct Storm {
    /// The task's latest waker.
    waker: Mutex<Option<Waker>>,
    /// Work done by the waking threads; the task ends once it sees `total`.
    work: AtomicUsize,
    /// Wake calls made on the task's waker, counted before each call.
    woken: AtomicUsize,
    polls: AtomicUsize,
    in_poll: AtomicBool,
}

impl Storm {
    fn new() -> Arc<Storm> {
        Arc::new(Storm {
            waker: Mutex::new(None),
            work: AtomicUsize::new(0),
            woken: AtomicUsize::new(0),
            polls: AtomicUsize::new(0),
            in_poll: AtomicBool::new(false),
        })
    }

    fn register(&self, w: &Waker) {
        let mut slot = self.waker.lock().unwrap();
        match &*slot {
            Some(old) if old.will_wake(w) => {}
            _ => *slot = Some(w.clone()),
        }
    }

    /// Wakes the task (if it registered yet), by value or by reference.
    fn wake(&self, by_ref: bool) {
        let w = self.waker.lock().unwrap().clone();
        if let Some(w) = w {
            self.woken.fetch_add(1, SeqCst);
            if by_ref {
                w.wake_by_ref();
            } else {
                w.wake();
            }
        }
    }

    /// One poll of the task: registers, then looks at the work counter.
    fn poll(&self, waker: &Waker, total: usize) -> Poll<()> {
        assert!(!self.in_poll.swap(true, SeqCst), "polled concurrently");
        self.polls.fetch_add(1, SeqCst);
        self.register(waker);
        let done = self.work.load(SeqCst) >= total;
        self.in_poll.store(false, SeqCst);
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn check(&self) {
        let polls = self.polls.load(SeqCst);
        let woken = self.woken.load(SeqCst);
        assert!(polls >= 1);
        assert!(
            polls <= woken + 1,
            "polled {polls} times for {woken} wakes: a wake scheduled the task twice"
        );
    }
}

/// `threads` threads each do `per_thread` units of work, waking the task
/// after each (alternately by value and by reference).
fn wakers(st: &Arc<Storm>, threads: usize, per_thread: usize) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let st = st.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    st.work.fetch_add(1, SeqCst);
                    st.wake((t + i) % 2 == 1);
                }
            })
        })
        .collect()
}

fn storm(threads: usize, per_thread: usize, worker_threads: usize) {
    let total = threads * per_thread;
    let rt = Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .build()
        .unwrap();
    let st = Storm::new();
    let st2 = st.clone();
    let task = rt.spawn(poll_fn(move |cx| st2.poll(cx.waker(), total)));
    for w in wakers(&st, threads, per_thread) {
        w.join().unwrap();
    }
    rt.block_on(task).unwrap();
    st.check();
}

#[test]
fn wake_storm_on_one_task_multi_thread() {
    let per = if long() { 100_000 } else { 5_000 };
    storm(8, per, 4);
}

#[test]
fn wake_storm_on_one_task_single_worker() {
    let per = if long() { 100_000 } else { 5_000 };
    storm(4, per, 1);
}

#[test]
fn wake_storm_on_current_thread_runtime() {
    let per = if long() { 100_000 } else { 5_000 };
    let rt = Builder::new_current_thread().build().unwrap();
    let st = Storm::new();
    let total = 4 * per;
    let st2 = st.clone();
    let task = rt.spawn(poll_fn(move |cx| st2.poll(cx.waker(), total)));
    let threads = wakers(&st, 4, per);
    rt.block_on(async {
        task.await.unwrap();
    });
    for w in threads {
        w.join().unwrap();
    }
    st.check();
}
