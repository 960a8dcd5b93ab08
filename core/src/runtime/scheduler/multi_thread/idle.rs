//! Which workers are asleep, and whom to wake.
//!
//! One atomic word holds two counters: workers *searching* for work (low
//! 16 bits) and workers *unparked* (the rest). The sleeper list itself is
//! behind a mutex, taken only on the slow path of parking and waking.
//!
//! Invariants:
//! - At most one wakeup is in flight while any worker searches: a worker is
//!   woken only when no one is searching (`worker_to_notify`), and it
//!   wakes up *as* a searcher. This is what prevents a thundering herd.
//! - At most half the workers search at once, so stealing never turns into
//!   everyone hammering everyone's queue.
//! - The last searcher to stop searching (to run a task, or to park) must
//!   re-check for work and wake another worker if any is found; this closes
//!   the lost-wakeup window between "I found nothing" and "I am parked".
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

const UNPARK_SHIFT: usize = 16;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const SEARCH_MASK: usize = UNPARK_ONE - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    num_workers: usize,
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many worker threads");
        Idle {
            // Every worker starts unparked, none searching.
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            num_workers,
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    fn searching(s: usize) -> usize {
        s & SEARCH_MASK
    }

    fn unparked(s: usize) -> usize {
        s >> UNPARK_SHIFT
    }

    fn should_wakeup(&self, s: usize) -> bool {
        Self::searching(s) == 0 && Self::unparked(s) < self.num_workers
    }

    /// Picks a sleeping worker to wake, marking it unparked and searching.
    ///
    /// `queued_by_rmw`: the caller made its work visible with a SeqCst
    /// read-modify-write (the injection queue's tail), so a SeqCst load of
    /// `state` is ordered after it. Otherwise (a worker's own queue, a
    /// plain store) `state` is read with a read-modify-write: the last
    /// searcher leaves with an RMW of `state` and then looks at the queues,
    /// and two parties that each store and then load the other's location
    /// may miss each other (store buffering); the RMW rules that out, so
    /// either we see the searcher or it sees our work. (As in Tokio; a
    /// review measured 6 runs in 560,000 leaving a task unrun for 5 s with
    /// a plain load there.)
    pub(crate) fn worker_to_notify(&self, queued_by_rmw: bool) -> Option<usize> {
        let s = if queued_by_rmw {
            self.state.load(SeqCst)
        } else {
            self.state.fetch_add(0, SeqCst)
        };
        if !self.should_wakeup(s) {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.should_wakeup(self.state.load(SeqCst)) {
            return None;
        }
        let w = sleepers.pop()?;
        self.state.fetch_add(UNPARK_ONE | 1, SeqCst);
        Some(w)
    }

    /// Records `worker` as parked. Returns true if it was the last searcher.
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARK_ONE + usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && Self::searching(prev) == 1
    }

    /// Tries to become a searcher; refused when half the workers already are.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * Self::searching(s) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// Stops searching. Returns true if this was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(Self::searching(prev) > 0);
        Self::searching(prev) == 1
    }

    /// A parked worker found work on its own (spurious wakeup with tasks):
    /// take it off the sleeper list if it is still there. Returns true if it
    /// was (then it is unparked but not searching).
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            self.state.fetch_add(UNPARK_ONE, SeqCst);
            true
        } else {
            false
        }
    }

    /// Whether `worker` is still on the sleeper list (not yet notified).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wakes_one_at_a_time() {
        let idle = Idle::new(4);
        for w in 0..4 {
            assert!(!idle.transition_worker_to_parked(w, false));
        }
        let first = idle.worker_to_notify(false).expect("someone to wake");
        // A searcher is in flight: nobody else is woken.
        assert_eq!(idle.worker_to_notify(false), None);
        assert!(idle.transition_worker_from_searching());
        assert!(idle.worker_to_notify(false).is_some());
        assert!(!idle.is_parked(first));
    }

    #[test]
    fn searcher_limit_is_half() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
    }
}
