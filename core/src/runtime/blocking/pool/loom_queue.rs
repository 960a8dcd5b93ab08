//! The loom model's stand-in for `crossbeam_deque::Injector` (whose
//! atomics loom cannot see): the same four operations over a mutex-guarded
//! deque. It is at least as ordered as the real queue (every operation is
//! sequentially consistent), so the model checks the pool's protocol, not
//! crossbeam's queue.
use crate::loom::sync::Mutex;
use std::collections::VecDeque;

pub(super) enum Steal<T> {
    Empty,
    Success(T),
    #[allow(dead_code)]
    Retry,
}

pub(super) struct Injector<T>(Mutex<VecDeque<T>>);

impl<T> Injector<T> {
    pub(super) fn new() -> Self {
        Injector(Mutex::new(VecDeque::new()))
    }
    pub(super) fn push(&self, t: T) {
        self.0.lock().push_back(t);
    }
    pub(super) fn steal(&self) -> Steal<T> {
        match self.0.lock().pop_front() {
            Some(t) => Steal::Success(t),
            None => Steal::Empty,
        }
    }
    pub(super) fn len(&self) -> usize {
        self.0.lock().len()
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }
}
