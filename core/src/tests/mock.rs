//! A mock scheduler for driving task cells by hand, plus small helpers
//! (drop trackers, counting wakers, a controllable future).
//!
//! `Sched` is what each task cell stores: a clone of an `Arc<Mock>`. So the
//! number of live task cells is `Arc::strong_count - 1` (the test's own
//! handle), which is how tests prove that a cell was freed exactly when it
//! should be. The run queue is a `VecDeque` behind the shim's mutex, so the
//! same mock works in loom models.
// The loom models use only part of this module.
#![cfg_attr(loom, allow(dead_code))]
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::task::list::OwnedTasks;
use crate::task::{JoinError, JoinHandle, Notified, Schedule, Task};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

pub(crate) struct Mock {
    queue: Mutex<VecDeque<Notified<Sched>>>,
    pub(crate) owned: OwnedTasks<Sched>,
    /// `schedule` calls (wakes of idle tasks, aborts).
    pub(crate) scheduled: AtomicUsize,
    /// `yield_now` calls (wakes while running).
    pub(crate) yielded: AtomicUsize,
    /// When set, `schedule`/`yield_now` run the queue to completion right
    /// after queuing, before returning: the deterministic form of "another
    /// worker popped the task and finished it while `schedule` was still
    /// running". `schedule` then touches `self` (as a real scheduler does
    /// to wake a sleeping worker), so a cell freed under it is caught by
    /// Miri.
    pub(crate) run_inline: std::sync::atomic::AtomicBool,
}

/// The scheduler handle stored in every task cell.
#[derive(Clone)]
pub(crate) struct Sched(pub(crate) Arc<Mock>);

impl Schedule for Sched {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.0.queue.lock().push_back(task);
        self.after_push();
        // Like a real scheduler notifying a parked worker after the push.
        self.0.scheduled.fetch_add(1, SeqCst);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.0.queue.lock().push_back(task);
        self.after_push();
        self.0.yielded.fetch_add(1, SeqCst);
    }
}

impl Sched {
    fn after_push(&self) {
        if self
            .0
            .run_inline
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            self.run_all();
        }
    }

    pub(crate) fn new() -> Sched {
        Sched::with_shards(4)
    }

    pub(crate) fn with_shards(shards: usize) -> Sched {
        Sched(Arc::new(Mock {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(shards),
            scheduled: AtomicUsize::new(0),
            yielded: AtomicUsize::new(0),
            run_inline: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Binds `fut` into the owned list and queues its first `Notified`.
    pub(crate) fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (jh, notified) = self
            .0
            .owned
            .bind(fut, self.clone(), crate::task::Id::next());
        if let Some(n) = notified {
            self.0.queue.lock().push_back(n);
        }
        jh
    }

    /// Pops the next queued task, if any.
    pub(crate) fn next(&self) -> Option<Notified<Sched>> {
        self.0.queue.lock().pop_front()
    }

    /// Runs queued tasks until the queue is empty; returns how many ran.
    pub(crate) fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(t) = self.next() {
            t.run();
            n += 1;
        }
        n
    }

    pub(crate) fn queued(&self) -> usize {
        self.0.queue.lock().len()
    }

    pub(crate) fn scheduled(&self) -> usize {
        self.0.scheduled.load(SeqCst)
    }

    pub(crate) fn yielded(&self) -> usize {
        self.0.yielded.load(SeqCst)
    }

    /// Task cells still allocated (each holds one `Sched`).
    pub(crate) fn live_cells(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }

    /// Runtime-style shutdown: close the list, cancel every task, then drop
    /// whatever is still queued.
    pub(crate) fn shutdown(&self) {
        self.0.owned.close_and_shutdown_all(0);
        while let Some(t) = self.next() {
            drop(t);
        }
    }

    /// Asserts that the test left nothing behind.
    pub(crate) fn assert_clean(&self) {
        assert_eq!(self.queued(), 0, "tasks left queued");
        assert_eq!(self.0.owned.len(), 0, "tasks left in the owned list");
        assert_eq!(self.live_cells(), 0, "task cells leaked");
    }
}

/// Counts how many times values holding it were dropped.
#[derive(Clone, Default)]
pub(crate) struct DropCount(std::sync::Arc<std::sync::atomic::AtomicUsize>);

/// A value that bumps its `DropCount` when dropped.
pub(crate) struct Tracked(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl DropCount {
    pub(crate) fn new() -> DropCount {
        DropCount::default()
    }
    pub(crate) fn track(&self) -> Tracked {
        Tracked(self.0.clone())
    }
    pub(crate) fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
pub(crate) struct CountWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A counting waker and the `Waker` built from it.
pub(crate) fn count_waker() -> (std::sync::Arc<CountWaker>, Waker) {
    let c = std::sync::Arc::new(CountWaker::default());
    (c.clone(), Waker::from(c))
}

impl CountWaker {
    pub(crate) fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Polls a `JoinHandle` once with `waker`.
pub(crate) fn poll_join<T>(jh: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(jh).poll(&mut Context::from_waker(waker))
}

/// Polls a `JoinHandle` once with a no-op waker; panics if pending.
pub(crate) fn join_now<T>(jh: &mut JoinHandle<T>) -> Result<T, JoinError> {
    match poll_join(jh, &futures::task::noop_waker()) {
        Poll::Ready(r) => r,
        Poll::Pending => panic!("JoinHandle not ready"),
    }
}

/// Shared control block of a [`Ctl`] future: the test decides when it is
/// ready, and sees every poll and the last waker.
#[derive(Default)]
pub(crate) struct CtlState {
    ready: std::sync::atomic::AtomicBool,
    polls: std::sync::atomic::AtomicUsize,
    in_poll: std::sync::atomic::AtomicBool,
    waker: std::sync::Mutex<Option<Waker>>,
}

/// A future that stays pending until `CtlState::set_ready`, storing a clone
/// of the waker of each poll, and asserting it is never polled by two
/// threads at once.
pub(crate) struct Ctl<T> {
    state: std::sync::Arc<CtlState>,
    value: Option<T>,
    _drop: Option<Tracked>,
}

impl<T> Ctl<T> {
    pub(crate) fn new(value: T, drops: &DropCount) -> (Ctl<T>, std::sync::Arc<CtlState>) {
        let state = std::sync::Arc::new(CtlState::default());
        let fut = Ctl {
            state: state.clone(),
            value: Some(value),
            _drop: Some(drops.track()),
        };
        (fut, state)
    }
}

impl CtlState {
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    pub(crate) fn polls(&self) -> usize {
        self.polls.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// The waker stored by the last poll (a new reference).
    pub(crate) fn waker(&self) -> Waker {
        self.waker.lock().unwrap().clone().expect("never polled")
    }
    /// Takes the stored waker out (so the future holds no reference).
    pub(crate) fn take_waker(&self) -> Option<Waker> {
        self.waker.lock().unwrap().take()
    }
}

impl<T: Unpin> Future for Ctl<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        use std::sync::atomic::Ordering::SeqCst;
        let st = self.state.clone();
        assert!(!st.in_poll.swap(true, SeqCst), "polled concurrently");
        st.polls.fetch_add(1, SeqCst);
        let out = if st.ready.load(SeqCst) {
            Poll::Ready(self.value.take().expect("polled after Ready"))
        } else {
            *st.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        };
        st.in_poll.store(false, SeqCst);
        out
    }
}
