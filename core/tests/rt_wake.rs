//! Wakeups: from foreign threads, during a poll, many at once; a wake while
//! running re-schedules exactly once.
use futures::task::AtomicWaker;
use runtime_core::runtime::Builder;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Completes once `flag` is set; counts its polls.
struct Flag {
    flag: Arc<AtomicBool>,
    waker: Arc<AtomicWaker>,
    polls: Arc<AtomicUsize>,
}

impl Future for Flag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.waker.register(cx.waker());
        if self.flag.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn task_woken_from_foreign_thread() {
    for rt in [
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        Builder::new_current_thread().build().unwrap(),
    ] {
        let flag = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(AtomicWaker::new());
        let polls = Arc::new(AtomicUsize::new(0));
        let f = Flag {
            flag: flag.clone(),
            waker: waker.clone(),
            polls: polls.clone(),
        };
        let h = rt.spawn(f);
        let t = std::thread::spawn(move || {
            // Wait until the task has registered its waker at least once.
            while polls.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            flag.store(true, Ordering::SeqCst);
            waker.wake();
        });
        rt.block_on(h).unwrap();
        t.join().unwrap();
    }
}

/// Wakes itself `n` times during each poll; must be re-polled exactly once
/// per poll that returned Pending.
struct SelfWake {
    remaining: usize,
    wakes_per_poll: usize,
    polls: usize,
}

impl Future for SelfWake {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.remaining == 0 {
            return Poll::Ready(self.polls);
        }
        self.remaining -= 1;
        for _ in 0..self.wakes_per_poll {
            cx.waker().wake_by_ref();
            // Deliberately exercise wake-by-value on a fresh clone.
            #[allow(clippy::waker_clone_wake)]
            cx.waker().clone().wake();
        }
        Poll::Pending
    }
}

#[test]
fn wake_during_poll_reschedules_exactly_once() {
    for rt in [
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        Builder::new_current_thread().build().unwrap(),
    ] {
        let polls = rt.block_on(async {
            runtime_core::spawn(SelfWake {
                remaining: 100,
                wakes_per_poll: 10,
                polls: 0,
            })
            .await
            .unwrap()
        });
        // 100 Pending polls (each re-scheduled once, however many wakes),
        // then one Ready poll.
        assert_eq!(polls, 101);
    }
}

#[test]
fn wake_storm_from_many_threads() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let waker = Arc::new(AtomicWaker::new());
    let polls = Arc::new(AtomicUsize::new(0));
    let h = rt.spawn(Flag {
        flag: flag.clone(),
        waker: waker.clone(),
        polls: polls.clone(),
    });
    while polls.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let w = waker.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    w.wake();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    flag.store(true, Ordering::SeqCst);
    waker.wake();
    rt.block_on(h).unwrap();
    // Never polled more than once per wake + the first poll.
    assert!(polls.load(Ordering::SeqCst) <= 80_002);
}
