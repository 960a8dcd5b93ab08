//! The run queues, kept behind one small module so the implementation can
//! be swapped (the benchmarks decide).
//!
//! Today: each worker owns a `crossbeam_deque::Worker` (FIFO), siblings
//! steal through its `Stealer`, and foreign threads push into a lock-free
//! `crossbeam_deque::Injector`. Tokio uses a fixed 256-slot ring per worker
//! plus a mutex-guarded global list; the lock-free injector is chosen here
//! because C and Python submit most work from foreign threads.
use crossbeam_deque::{Injector, Steal, Stealer, Worker};

/// A worker's own queue.
pub(super) struct Local<T>(Worker<T>);

/// The handle siblings steal through.
pub(super) struct Remote<T>(Stealer<T>);

/// The global queue for tasks scheduled from outside a worker.
pub(super) struct Inject<T>(Injector<T>);

pub(super) fn local<T>() -> (Local<T>, Remote<T>) {
    let w = Worker::new_fifo();
    let s = w.stealer();
    (Local(w), Remote(s))
}

impl<T> Local<T> {
    pub(super) fn push(&self, t: T) {
        self.0.push(t)
    }
    pub(super) fn pop(&self) -> Option<T> {
        self.0.pop()
    }
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> Remote<T> {
    /// Moves a batch of tasks into `dst` and returns one of them.
    pub(super) fn steal_into(&self, dst: &Local<T>) -> Option<T> {
        loop {
            match self.0.steal_batch_and_pop(&dst.0) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }
    /// Like `steal_into`, but moves at most `limit` tasks (at least one).
    pub(super) fn steal_into_limit(&self, dst: &Local<T>, limit: usize) -> Option<T> {
        loop {
            match self.0.steal_batch_with_limit_and_pop(&dst.0, limit.max(1)) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Inject<T> {
    pub(super) fn new() -> Inject<T> {
        Inject(Injector::new())
    }
    pub(super) fn push(&self, t: T) {
        self.0.push(t)
    }
    pub(super) fn pop(&self) -> Option<T> {
        loop {
            match self.0.steal() {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }
    /// Moves up to `n` tasks (at least one if any) into `dst` and returns
    /// one of them. One injector steal takes at most the rest of one of
    /// its blocks (63 slots), so larger batches take a few steals.
    pub(super) fn pop_batch_into(&self, dst: &Local<T>, n: usize) -> Option<T> {
        let n = n.max(1);
        let first = loop {
            match self.0.steal_batch_with_limit_and_pop(&dst.0, n) {
                Steal::Success(t) => break t,
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        };
        let mut left = n - 1;
        let mut have = dst.len();
        while left > 0 {
            match self.0.steal_batch_with_limit(&dst.0, left) {
                Steal::Success(()) => {
                    // Thieves may shrink `dst` meanwhile: count at least one
                    // per steal so the loop always ends.
                    let now = dst.len();
                    left = left.saturating_sub(now.saturating_sub(have).max(1));
                    have = now;
                }
                Steal::Empty => break,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
        Some(first)
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}
