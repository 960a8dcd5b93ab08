//! Stress: wake storms. Many threads wake the same task (by value and by
//! reference) as fast as they can while it is polled; the task sees every
//! wake's effect, is never polled concurrently, and is polled at most once
//! per wake plus once.
//!
//! Short mode (default): 8 threads x 5k wakes. `STRESS_LONG=1`: x 100k.
use futures::task::AtomicWaker;
use runtime_core::runtime::Builder;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

struct Storm {
    waker: AtomicWaker,
    wakes: AtomicUsize,
    polls: AtomicUsize,
    in_poll: AtomicBool,
}

fn storm(threads: usize, per_thread: usize, worker_threads: usize) {
    let total = threads * per_thread;
    let rt = Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .build()
        .unwrap();
    let st = Arc::new(Storm {
        waker: AtomicWaker::new(),
        wakes: AtomicUsize::new(0),
        polls: AtomicUsize::new(0),
        in_poll: AtomicBool::new(false),
    });
    let st2 = st.clone();
    let task = rt.spawn(poll_fn(move |cx| {
        assert!(!st2.in_poll.swap(true, SeqCst), "polled concurrently");
        st2.polls.fetch_add(1, SeqCst);
        st2.waker.register(cx.waker());
        let done = st2.wakes.load(SeqCst) >= total;
        st2.in_poll.store(false, SeqCst);
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    let wakers: Vec<_> = (0..threads)
        .map(|t| {
            let st = st.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    st.wakes.fetch_add(1, SeqCst);
                    if (t + i) % 2 == 0 {
                        st.waker.wake();
                    } else if let Some(w) = st.waker.take() {
                        w.wake_by_ref();
                        st.waker.register(&w);
                    }
                }
                // The last wake of each thread goes through by value, so
                // the final increment is always followed by a wake.
                st.waker.wake();
            })
        })
        .collect();
    for w in wakers {
        w.join().unwrap();
    }
    rt.block_on(task).unwrap();
    let polls = st.polls.load(SeqCst);
    assert!(polls >= 1);
    assert!(
        polls <= total + threads + 1,
        "polled {polls} times for {total} wakes: a wake scheduled the task twice"
    );
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
    let st = Arc::new(Storm {
        waker: AtomicWaker::new(),
        wakes: AtomicUsize::new(0),
        polls: AtomicUsize::new(0),
        in_poll: AtomicBool::new(false),
    });
    let total = 4 * per;
    let st2 = st.clone();
    let task = rt.spawn(poll_fn(move |cx| {
        st2.polls.fetch_add(1, SeqCst);
        st2.waker.register(cx.waker());
        if st2.wakes.load(SeqCst) >= total {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    let wakers: Vec<_> = (0..4)
        .map(|_| {
            let st = st.clone();
            std::thread::spawn(move || {
                for _ in 0..per {
                    st.wakes.fetch_add(1, SeqCst);
                    st.waker.wake();
                }
            })
        })
        .collect();
    rt.block_on(async {
        task.await.unwrap();
    });
    for w in wakers {
        w.join().unwrap();
    }
    assert!(st.polls.load(SeqCst) <= total + 1);
}
