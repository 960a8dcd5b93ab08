//! The multi-thread scheduler's sleep/wake protocol: no lost wakeup
//! between "a worker found no work and parks" and "a spawner queues a task
//! and wakes a sleeper".
//!
//! `runtime/scheduler/multi_thread/{idle,park}.rs` are private to that
//! module, and a real `Parker` needs a `SharedDriver` (an epoll reactor,
//! whose blocking `epoll_wait` loom cannot schedule around). So this model
//! carries a line-for-line copy of `Idle` (the parts the park/notify path
//! uses) and of `Parker`'s condvar path (the path every worker but the
//! driver-holder takes), using the same orderings. KEEP IN SYNC with those
//! files; RELIABILITY.md lists the hook that would let the model use the
//! real types.
use super::model;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use std::collections::VecDeque;

// ---- copy of park.rs, condvar path -------------------------------------
const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const NOTIFIED: usize = 3;

struct Parker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    fn park(&self) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut g = self.mutex.lock().unwrap();
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("inconsistent park state {s}"),
        }
        loop {
            g = self.condvar.wait(g).unwrap();
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                drop(self.mutex.lock().unwrap());
                self.condvar.notify_one();
            }
            s => unreachable!("inconsistent park state {s}"),
        }
    }
}

// ---- copy of idle.rs ----------------------------------------------------
const UNPARK_SHIFT: usize = 16;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;
const SEARCH_MASK: usize = UNPARK_ONE - 1;

struct Idle {
    state: AtomicUsize,
    num_workers: usize,
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            num_workers,
            sleepers: Mutex::new(Vec::new()),
        }
    }
    fn notify_should_wakeup(&self) -> bool {
        let s = self.state.load(SeqCst);
        s & SEARCH_MASK == 0 && (s >> UNPARK_SHIFT) < self.num_workers
    }
    fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers.lock().unwrap();
        if !self.notify_should_wakeup() {
            return None;
        }
        let w = sleepers.pop()?;
        self.state.fetch_add(UNPARK_ONE | 1, SeqCst);
        Some(w)
    }
    fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        let dec = UNPARK_ONE + usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && (prev & SEARCH_MASK) == 1
    }
    fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * (s & SEARCH_MASK) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }
    fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        (prev & SEARCH_MASK) == 1
    }
    fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().unwrap().contains(&worker)
    }
}

// ---- the model ----------------------------------------------------------
struct Shared {
    inject: Mutex<VecDeque<u32>>,
    idle: Idle,
    parkers: Vec<Parker>,
    done: AtomicUsize,
}

impl Shared {
    fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            self.parkers[i].unpark();
        }
    }
    fn push(&self, task: u32) {
        self.inject.lock().unwrap().push_back(task);
        self.notify_parked();
    }
}

/// One worker's loop, as in `worker.rs` (`run` / `next_task` /
/// `steal_work` / `park` / `transition_to_parked` /
/// `transition_from_parked`), until `want` tasks ran in total. (An earlier
/// version of this model skipped `steal_work`'s `transition_to_searching`
/// and deadlocked at preemption bound 4: a worker may only park without
/// searching when another worker searches and will re-check the queues.)
fn worker(sh: &Shared, index: usize, want: usize) {
    let mut searching = sh.idle.transition_worker_to_searching();
    loop {
        if sh.done.load(SeqCst) >= want {
            // Leave as the real worker does on shutdown.
            if searching {
                sh.idle.transition_worker_from_searching();
            }
            return;
        }
        // `next_task`, then `steal_work`: a worker with no work tries to
        // become a searcher and, as one, looks at the injection queue again.
        let mut task = sh.inject.lock().unwrap().pop_front();
        if task.is_none() {
            if !searching {
                searching = sh.idle.transition_worker_to_searching();
            }
            if searching {
                task = sh.inject.lock().unwrap().pop_front();
            }
        }
        if task.is_some() {
            if searching {
                searching = false;
                if sh.idle.transition_worker_from_searching() {
                    sh.notify_parked();
                }
            }
            if sh.done.fetch_add(1, SeqCst) + 1 >= want {
                // Last task: wake everyone so the model terminates
                // (the runtime's shutdown does the same).
                for p in &sh.parkers {
                    p.unpark();
                }
            }
            continue;
        }
        // Nothing found: park.
        let last = sh.idle.transition_worker_to_parked(index, searching);
        if last && !sh.inject.lock().unwrap().is_empty() {
            sh.notify_parked();
        }
        loop {
            if sh.done.load(SeqCst) >= want {
                return;
            }
            sh.parkers[index].park();
            if sh.done.load(SeqCst) >= want {
                return;
            }
            if sh.idle.is_parked(index) {
                continue;
            }
            searching = true;
            break;
        }
    }
}

/// The bare parker: an `unpark` racing `park` is never lost (a lost one
/// deadlocks the model, which loom reports).
#[test]
fn parker_condvar_no_lost_wakeup() {
    model(3, || {
        let p = Arc::new(Parker::new());
        let p2 = p.clone();
        let t = thread::spawn(move || p2.unpark());
        p.park();
        t.join().unwrap();
        assert_eq!(p.state.load(SeqCst), EMPTY);
    });
}

/// Two unparks around two parks: every park returns.
#[test]
fn parker_condvar_repeated() {
    model(2, || {
        let p = Arc::new(Parker::new());
        let p2 = p.clone();
        let t = thread::spawn(move || {
            p2.unpark();
            thread::yield_now();
            p2.unpark();
        });
        p.park();
        t.join().unwrap();
        // The second unpark may or may not have been consumed; one more
        // park after an unpark must return.
        p.unpark();
        p.park();
    });
}

/// A foreign thread spawns a task while the only worker decides to park:
/// the worker always runs it (no lost wakeup, no deadlock).
#[test]
fn spawn_races_worker_parking() {
    model(3, || {
        let sh = Arc::new(Shared {
            inject: Mutex::new(VecDeque::new()),
            idle: Idle::new(1),
            parkers: vec![Parker::new()],
            done: AtomicUsize::new(0),
        });
        let sh2 = sh.clone();
        let w = thread::spawn(move || worker(&sh2, 0, 1));
        sh.push(1);
        w.join().unwrap();
        assert_eq!(sh.done.load(SeqCst), 1);
    });
}

/// Two workers, two tasks pushed from a foreign thread: both tasks run
/// (the "last searcher re-checks" rule hands work to the other sleeper).
#[test]
fn two_workers_two_tasks() {
    model(2, || {
        let sh = Arc::new(Shared {
            inject: Mutex::new(VecDeque::new()),
            idle: Idle::new(2),
            parkers: vec![Parker::new(), Parker::new()],
            done: AtomicUsize::new(0),
        });
        let sh0 = sh.clone();
        let w0 = thread::spawn(move || worker(&sh0, 0, 2));
        let sh1 = sh.clone();
        let w1 = thread::spawn(move || worker(&sh1, 1, 2));
        sh.push(1);
        sh.push(2);
        w0.join().unwrap();
        w1.join().unwrap();
        assert_eq!(sh.done.load(SeqCst), 2);
    });
}
