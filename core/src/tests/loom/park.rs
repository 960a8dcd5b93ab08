//! The multi-thread scheduler's sleep/wake protocol: no lost wakeup
//! between "a worker found no work and parks" and "a spawner queues a task
//! and wakes a sleeper".
//!
//! The model runs the real `Idle` (`runtime/scheduler/multi_thread/idle.rs`)
//! and the real per-worker sleep state machine `ParkState` (`park.rs`),
//! both built on the loom shim under `--cfg loom`. What it replaces is what
//! loom cannot schedule around: the epoll driver. A worker that finds the
//! driver free sleeps in a fake one (a flag + condvar with the same
//! contract: `park` blocks until an `unpark`, and an `unpark` that comes
//! first is remembered, as mio's eventfd waker is), exactly as
//! `Parker::park_inner` does with the real driver; the others sleep on
//! their condvar. The worker loop mirrors `worker.rs` (see `worker`).
use super::model;
use crate::runtime::scheduler::multi_thread::idle::Idle;
use crate::runtime::scheduler::multi_thread::park::ParkState;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use std::collections::VecDeque;

/// Stands in for the I/O + timer driver: blocks until unparked.
struct FakeDriver {
    woken: Mutex<bool>,
    cv: Condvar,
}

impl FakeDriver {
    fn new() -> FakeDriver {
        FakeDriver {
            woken: Mutex::new(false),
            cv: Condvar::new(),
        }
    }
    fn park(&self) {
        let mut w = self.woken.lock().unwrap();
        while !*w {
            w = self.cv.wait(w).unwrap();
        }
        *w = false;
    }
    fn unpark(&self) {
        *self.woken.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

// ---- the model ----------------------------------------------------------
struct Shared {
    inject: Mutex<VecDeque<u32>>,
    idle: Idle,
    parkers: Vec<ParkState>,
    /// Set while a worker holds the driver (`SharedDriver`'s lock, which
    /// the real code `try_lock`s). A flag rather than a loom `Mutex`: loom
    /// marks a thread whose next step is `try_lock` as blocked when another
    /// thread takes the mutex, which a real `try_lock` never is.
    driver_busy: AtomicBool,
    driver: FakeDriver,
    done: AtomicUsize,
}

impl Shared {
    fn new(workers: usize) -> Shared {
        Shared {
            inject: Mutex::new(VecDeque::new()),
            idle: Idle::new(workers),
            parkers: (0..workers).map(|_| ParkState::new()).collect(),
            driver_busy: AtomicBool::new(false),
            driver: FakeDriver::new(),
            done: AtomicUsize::new(0),
        }
    }

    /// `Parker::park_inner` with no timeout.
    fn park(&self, index: usize) {
        let p = &self.parkers[index];
        if p.take_notification() {
            return;
        }
        if self
            .driver_busy
            .compare_exchange(false, true, SeqCst, SeqCst)
            .is_ok()
        {
            p.park_driver(|| self.driver.park());
            self.driver_busy.store(false, SeqCst);
            return;
        }
        p.park_condvar();
    }

    /// `Unparker::unpark`.
    fn unpark(&self, index: usize) {
        self.parkers[index].unpark(|| self.driver.unpark());
    }

    fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify(false) {
            self.unpark(i);
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
                for i in 0..sh.parkers.len() {
                    sh.unpark(i);
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
            sh.park(index);
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

/// The bare condvar path: an `unpark` racing `park` is never lost (a lost
/// one deadlocks the model, which loom reports).
#[test]
fn parker_condvar_no_lost_wakeup() {
    model(3, || {
        let p = Arc::new(ParkState::new());
        let p2 = p.clone();
        let t = thread::spawn(move || p2.unpark(|| unreachable!("not in the driver")));
        if !p.take_notification() {
            p.park_condvar();
        }
        t.join().unwrap();
        assert!(p.is_empty());
    });
}

/// The driver path: an `unpark` racing a worker going to sleep in the
/// driver reaches it through the driver's own wake-up, or is seen before.
#[test]
fn parker_driver_no_lost_wakeup() {
    model(3, || {
        let sh = Arc::new(Shared::new(1));
        let sh2 = sh.clone();
        let t = thread::spawn(move || sh2.unpark(0));
        sh.park(0);
        t.join().unwrap();
        assert!(sh.parkers[0].is_empty());
    });
}

/// Two unparks around two parks: every park returns.
#[test]
fn parker_condvar_repeated() {
    model(2, || {
        let p = Arc::new(ParkState::new());
        let p2 = p.clone();
        let t = thread::spawn(move || {
            p2.unpark(|| unreachable!("not in the driver"));
            thread::yield_now();
            p2.unpark(|| unreachable!("not in the driver"));
        });
        if !p.take_notification() {
            p.park_condvar();
        }
        t.join().unwrap();
        // The second unpark may or may not have been consumed; one more
        // park after an unpark must return.
        p.unpark(|| unreachable!("not in the driver"));
        if !p.take_notification() {
            p.park_condvar();
        }
    });
}

/// A foreign thread spawns a task while the only worker decides to park
/// (in the driver, which it holds): the worker always runs it.
#[test]
fn spawn_races_worker_parking() {
    model(3, || {
        let sh = Arc::new(Shared::new(1));
        let sh2 = sh.clone();
        let w = thread::spawn(move || worker(&sh2, 0, 1));
        sh.push(1);
        w.join().unwrap();
        assert_eq!(sh.done.load(SeqCst), 1);
    });
}

/// Two workers (one may sleep in the driver, the other on its condvar),
/// two tasks pushed from a foreign thread: both tasks run (the "last
/// searcher re-checks" rule hands work to the other sleeper).
#[test]
fn two_workers_two_tasks() {
    model(2, || {
        let sh = Arc::new(Shared::new(2));
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
