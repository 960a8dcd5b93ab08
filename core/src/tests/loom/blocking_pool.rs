//! The blocking pool's protocols (`runtime/blocking/pool.rs`), on the real
//! pool built on the loom shim: its atomics, mutex, condvars, thread-locals
//! and threads are loom's under `--cfg loom`. What it replaces is the
//! lock-free queue (a mutex-guarded deque with the same operations, see
//! `loom_queue` there) and the runtime around the jobs (model jobs, with no
//! runtime context and no paused clock).
//!
//! Checked:
//! - hand-off: a job queued while the pool's only other thread is busy
//!   with a job that waits for it is always taken by some thread (never
//!   left to a spinner that took another job). With the spawner's two
//!   reads swapped (spinners before queue length, the order fixed on
//!   2026-11-27), loom reports the deadlock;
//! - shutdown racing a spawn: every job is run or cancelled exactly once,
//!   and once `wait_idle` returns nothing of a job is still running, even
//!   after a shutdown that gave up waiting at once. With a pool thread
//!   counted in `active` only while it takes a job, not while it runs it,
//!   the model fails;
//! - keep-alive exit racing a spawn (a zero keep-alive, which the pool's
//!   loom `idle_wait` turns into a wait that times out at once, releasing
//!   the lock meanwhile): the job is run, by the notified thread or a new
//!   one. With the timeout checked before the notification, loom reports
//!   the stranded job as a deadlock;
//! - spawns that cannot start a thread: each job is cancelled exactly
//!   once and none stays queued (with no cancel on that path the model
//!   fails; a spawner that cancels only one job instead of draining the
//!   queue still passes it, since each of the two cancels one).
//!
//! Not checked here: the memory orderings of the hand-off (the stand-in
//! queue is a mutex, whose lock order alone settles the race between a
//! spawner and a spinner, so the model passes with the two fences removed
//! or `num_spinning` relaxed; those are argued in the pool's module doc).
//!
//! Bounds: the hand-off model explores every interleaving with one
//! preemption (the swapped reads need only one); with two, some executions
//! of its three jobs, two pool threads and spinning run past 20,000
//! branch points, and loom gives up. The other models run with two; at
//! three, some executions spend as long in the pool's yield loops (the
//! shutdown waiting for spawns in flight, threads waiting for `quiesced`).
//! So `LOOM_MAX_PREEMPTIONS` (the long CI form) does not raise these
//! bounds.
use crate::runtime::blocking::{BlockingPool, BlockingSchedule, BlockingWork, Job, PoolConfig};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;

/// `super::model` with room for longer executions: one pass of these
/// models takes more than loom's default 1,000 branch points (every atomic,
/// lock and condvar step of the pool, the spawner and the jobs counts).
/// The bound is not raised by `LOOM_MAX_PREEMPTIONS` (see "Bounds").
fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.max_branches = 20_000;
    b.check(f);
}

/// A count or flag that threads wait on with a condvar (not by spinning:
/// a spin loop multiplies loom's interleavings, and a thread blocked for
/// good shows up as a deadlock, which loom reports at once).
#[derive(Default)]
struct Signal {
    n: Mutex<usize>,
    cv: Condvar,
}

impl Signal {
    fn add(&self) {
        *self.n.lock().unwrap() += 1;
        self.cv.notify_all();
    }
    fn wait_for(&self, n: usize) {
        let mut g = self.n.lock().unwrap();
        while *g < n {
            g = self.cv.wait(g).unwrap();
        }
    }
}

/// A model job: counts its runs and cancels; optionally waits until
/// `wait_for` is signalled before finishing, and signals `set` when it ends
/// either way.
struct Item {
    runs: AtomicUsize,
    cancels: AtomicUsize,
    /// Set while `run` is inside its body.
    running: AtomicBool,
    wait_for: Option<Arc<Signal>>,
    set: Option<Arc<Signal>>,
    /// Counts finished items (run or cancelled), shared by the model.
    finished: Arc<Signal>,
}

impl Item {
    fn new(finished: &Arc<Signal>) -> Item {
        Item {
            runs: AtomicUsize::new(0),
            cancels: AtomicUsize::new(0),
            running: AtomicBool::new(false),
            wait_for: None,
            set: None,
            finished: finished.clone(),
        }
    }

    fn end(&self) {
        if let Some(s) = &self.set {
            s.add();
        }
        self.finished.add();
    }

    fn outcomes(&self) -> usize {
        self.runs.load(SeqCst) + self.cancels.load(SeqCst)
    }
}

impl BlockingWork for Item {
    fn run(self: Arc<Self>) {
        self.running.store(true, SeqCst);
        if let Some(w) = &self.wait_for {
            w.wait_for(1);
        }
        self.runs.fetch_add(1, SeqCst);
        self.running.store(false, SeqCst);
        self.end();
    }

    fn cancel(self: Arc<Self>) {
        self.cancels.fetch_add(1, SeqCst);
        self.end();
    }
}

/// A pool of at most `threads` threads; idle threads stay (loom's timed
/// waits never time out) unless `keep_alive` is zero (see the pool's loom
/// `idle_wait`).
fn pool(threads: usize, keep_alive: Duration) -> BlockingPool {
    BlockingPool::new(PoolConfig {
        thread_name: Arc::new(|| "model".to_string()),
        stack_size: None,
        keep_alive,
        thread_cap: threads,
    })
}

const KEEP: Duration = Duration::from_secs(10);

fn job(item: &Arc<Item>) -> Job {
    let work: Arc<dyn BlockingWork> = item.clone();
    Job::Work(work, BlockingSchedule::none())
}

/// Two threads at most. A first job finishes, so its thread may be
/// spinning when job `a` (which waits for `b`) and then `b` are queued:
/// `b` must reach the other thread (or the spinner, if `a` went elsewhere),
/// never wait behind `a`. A stranded `b` leaves `a` and the main thread
/// blocked for good, which loom reports as a deadlock.
#[test]
fn a_job_is_never_left_behind_a_job_that_waits_for_it() {
    // One preemption, also in the long CI form: see the module's "Bounds".
    model(1, || {
        let finished = Arc::new(Signal::default());
        let mut pool = pool(2, KEEP);
        let first = Arc::new(Item::new(&finished));
        pool.spawner().spawn_model_job(job(&first));
        finished.wait_for(1);
        let b_done = Arc::new(Signal::default());
        let a = Arc::new(Item {
            wait_for: Some(b_done.clone()),
            ..Item::new(&finished)
        });
        let b = Arc::new(Item {
            set: Some(b_done),
            ..Item::new(&finished)
        });
        pool.spawner().spawn_model_job(job(&a));
        pool.spawner().spawn_model_job(job(&b));
        // The check is that this returns (loom reports the deadlock of a
        // stranded `b`): nothing cancels jobs before the shutdown below.
        finished.wait_for(3);
        pool.shutdown(None);
    });
}

/// A spawn from another thread races a shutdown that gives up at once;
/// `wait_idle` afterwards returns only when the job has been run or
/// cancelled, exactly once, and is not mid-run.
#[test]
fn a_spawn_racing_a_shutdown_is_run_or_cancelled_once_before_wait_idle_returns() {
    // Two preemptions, also in the long CI form: see the module's "Bounds".
    model(2, || {
        let finished = Arc::new(Signal::default());
        let mut pool = pool(1, KEEP);
        let spawner = pool.spawner().clone();
        let item = Arc::new(Item::new(&finished));
        let it = item.clone();
        let sp = spawner.clone();
        let th = loom::thread::spawn(move || sp.spawn_model_job(job(&it)));
        pool.shutdown(Some(Duration::ZERO));
        th.join().unwrap();
        // No deadline: returns once idle (the checks are what it saw).
        spawner.wait_idle(None);
        assert_eq!(item.outcomes(), 1, "run or cancelled exactly once");
        assert!(!item.running.load(SeqCst), "wait_idle returned mid-run");
    });
}

/// A pool of one thread whose keep-alive runs out at once (see the pool's
/// loom `idle_wait`): after its first job the thread goes idle and exits,
/// and a second spawn races that exit. The second job always runs, on
/// that thread (notified before it saw its timeout) or on a new one, and
/// the shutdown finds every thread gone. With the exit checked before the
/// notification (a notified thread that times out leaves anyway), loom
/// reports the stranded job as a deadlock.
#[test]
fn a_spawn_racing_a_keep_alive_exit_still_runs() {
    model(2, || {
        let finished = Arc::new(Signal::default());
        let mut pool = pool(1, Duration::ZERO);
        let first = Arc::new(Item::new(&finished));
        let second = Arc::new(Item::new(&finished));
        pool.spawner().spawn_model_job(job(&first));
        // Until the thread has gone idle (or already left): the second
        // spawn then races its keep-alive exit, not its spinning.
        let sp = pool.spawner().clone();
        while sp.num_idle_threads() == 0 && sp.num_threads() > 0 {
            loom::thread::yield_now();
        }
        sp.spawn_model_job(job(&second));
        // A stranded second job blocks this for good: loom reports it.
        finished.wait_for(2);
        assert_eq!(second.runs.load(SeqCst), 1);
        pool.shutdown(None);
        assert_eq!(pool.spawner().num_threads(), 0);
    });
}

/// Two threads spawn into a pool that cannot start a thread: each spawner
/// cancels what is queued (its own job, and the other's if it is there
/// yet), so every job is cancelled exactly once and none is left queued.
#[test]
fn spawns_that_cannot_start_a_thread_cancel_every_job_once() {
    model(2, || {
        let finished = Arc::new(Signal::default());
        let pool = pool(1, KEEP);
        let a = Arc::new(Item::new(&finished));
        let b = Arc::new(Item::new(&finished));
        let sp = pool.spawner().clone();
        let b2 = b.clone();
        let th = loom::thread::spawn(move || sp.spawn_model_job_no_thread(job(&b2)));
        pool.spawner().spawn_model_job_no_thread(job(&a));
        th.join().unwrap();
        for it in [&a, &b] {
            assert_eq!((it.runs.load(SeqCst), it.cancels.load(SeqCst)), (0, 1));
        }
        assert_eq!(pool.spawner().queue_depth(), 0);
    });
}
