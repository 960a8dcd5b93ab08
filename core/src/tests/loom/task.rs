//! The task state machine under every interleaving: a wake from another
//! thread racing the poll re-schedules exactly once and is never lost, the
//! future is never polled by two threads at once, and the cell is freed
//! exactly once; abort racing completion racing the `JoinHandle` drop.
use super::super::mock::{DropCount, Sched};
use super::model;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use std::task::Waker;

type Slot = Arc<Mutex<Option<Waker>>>;
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Pending until `go` is set; registers its waker on every poll; asserts it
/// is never polled concurrently.
struct Gate {
    go: Arc<AtomicBool>,
    waker: Slot,
    in_poll: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
    _drop: super::super::mock::Tracked,
}

struct GateCtl {
    go: Arc<AtomicBool>,
    waker: Slot,
    polls: Arc<AtomicUsize>,
}

fn gate(drops: &DropCount) -> (Gate, GateCtl) {
    let go = Arc::new(AtomicBool::new(false));
    let waker: Slot = Arc::new(Mutex::new(None));
    let polls = Arc::new(AtomicUsize::new(0));
    (
        Gate {
            go: go.clone(),
            waker: waker.clone(),
            in_poll: Arc::new(AtomicBool::new(false)),
            polls: polls.clone(),
            _drop: drops.track(),
        },
        GateCtl { go, waker, polls },
    )
}

impl GateCtl {
    fn open(&self) {
        self.go.store(true, SeqCst);
        let w = self.waker.lock().unwrap().take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Future for Gate {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        assert!(!self.in_poll.swap(true, SeqCst), "polled concurrently");
        let n = self.polls.fetch_add(1, SeqCst) + 1;
        // Register first, then check: a wake after the check finds the
        // new waker.
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        let out = if self.go.load(SeqCst) {
            Poll::Ready(n)
        } else {
            Poll::Pending
        };
        self.in_poll.store(false, SeqCst);
        out
    }
}

fn join_now<T>(jh: &mut crate::task::JoinHandle<T>) -> Poll<Result<T, crate::task::JoinError>> {
    super::super::mock::poll_join(jh, &futures::task::noop_waker())
}

/// A wake from another thread races the first poll; both threads run
/// queued tasks. The task completes, was never polled concurrently (the
/// `Gate` asserts it), was queued at most once at a time, and is freed.
#[test]
fn wake_races_poll() {
    model(3, || {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = gate(&d);
        let mut jh = s.spawn(fut);
        let s2 = s.clone();
        let t = thread::spawn(move || {
            ctl.open();
            s2.run_all();
            ctl
        });
        s.run_all();
        let ctl = t.join().unwrap();
        s.run_all();
        assert!(
            join_now(&mut jh).is_ready(),
            "lost wakeup: task not complete"
        );
        assert!(ctl.polls.load(SeqCst) <= 2);
        assert_eq!(d.get(), 1);
        assert!(s.queued() == 0);
        drop(jh);
        drop(ctl);
        s.assert_clean();
    });
}

/// Two wakers (one by value, one by reference) fire from two threads while
/// the task is idle: exactly one `Notified` is submitted.
#[test]
fn concurrent_wakes_submit_once() {
    model(3, || {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = gate(&d);
        let jh = s.spawn(fut);
        s.run_all(); // idle, waker registered
        let w1 = ctl.waker.lock().unwrap().take().unwrap();
        let w2 = w1.clone();
        let t1 = thread::spawn(move || w1.wake());
        let t2 = thread::spawn(move || w2.wake_by_ref());
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(s.queued(), 1, "woken twice, queued once");
        assert_eq!(s.scheduled(), 1);
        ctl.go.store(true, SeqCst);
        s.run_all();
        assert!(jh.is_finished());
        drop(jh);
        drop(ctl);
        s.assert_clean();
    });
}

/// The last references (a waker's and the `JoinHandle`'s) are dropped on
/// two threads while the task completes on a third: freed exactly once.
#[test]
fn last_references_race_completion() {
    model(2, || {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = gate(&d);
        let jh = s.spawn(fut);
        s.run_all();
        let w = ctl.waker.lock().unwrap().take().unwrap();
        ctl.go.store(true, SeqCst);
        w.wake_by_ref();
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        let dropper = thread::spawn(move || drop(jh));
        drop(w);
        runner.join().unwrap();
        dropper.join().unwrap();
        assert_eq!(d.get(), 1);
        drop(ctl);
        s.assert_clean();
    });
}

/// `abort()` races completion (on a worker thread) and the `JoinHandle`
/// being polled then dropped: the future is dropped exactly once, the
/// joiner sees either the output or a cancellation, and nothing leaks.
#[test]
fn abort_races_completion_and_join_handle() {
    model(2, || {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = gate(&d);
        let mut jh = s.spawn(fut);
        s.run_all(); // idle
        let ah = jh.abort_handle();
        let s2 = s.clone();
        let aborter = thread::spawn(move || ah.abort());
        let worker = thread::spawn(move || {
            ctl.open();
            s2.run_all();
            ctl
        });
        let res = join_now(&mut jh);
        aborter.join().unwrap();
        let ctl = worker.join().unwrap();
        s.run_all();
        match res {
            Poll::Ready(Ok(n)) => assert!(n >= 1),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => match join_now(&mut jh) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
                Poll::Pending => panic!("task neither completed nor cancelled"),
            },
        }
        assert_eq!(d.get(), 1, "future dropped exactly once");
        drop(jh);
        drop(ctl);
        s.assert_clean();
    });
}

/// The `JoinHandle` registers its waker while the task completes on another
/// thread: the joiner is either woken or sees the output on its next poll
/// (no lost join wakeup), and the join waker is released.
#[test]
fn join_waker_races_completion() {
    model(3, || {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = gate(&d);
        let mut jh = s.spawn(fut);
        s.run_all();
        let s2 = s.clone();
        let worker = thread::spawn(move || {
            ctl.open();
            s2.run_all();
            ctl
        });
        let (count, w) = super::super::mock::count_waker();
        let first = super::super::mock::poll_join(&mut jh, &w);
        let ctl = worker.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.count(), 1, "joiner not woken");
            assert!(join_now(&mut jh).is_ready());
        }
        drop(jh);
        drop(ctl);
        s.assert_clean();
        assert_eq!(std::sync::Arc::strong_count(&count), 2);
    });
}
