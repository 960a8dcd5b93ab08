//! The blocking pool's threads and queue.
//!
//! Design: one mutex-guarded FIFO queue of jobs (`spawn_blocking` tasks and
//! [`BlockingWork`] items) and a condvar. A spawn hands its job
//! to an idle thread (one `notify_one`, counted in `num_notify` so a wakeup
//! is never lost or double-counted) or, when none is idle and fewer than
//! `thread_cap` threads exist, starts a new thread. Idle threads exit after
//! `keep_alive` without work, so the pool shrinks back to zero.
//!
//! Invariants (all under `shared`'s lock):
//! - `num_idle` counts threads waiting on the condvar that have not yet been
//!   claimed by a notification; `num_notify <= num_idle` before a claim.
//! - `num_spinning` counts threads between running work and going idle,
//!   polling the queue; a spawn that leaves at most one queued job per
//!   spinner wakes nobody, since each spinner re-checks the queue under
//!   the lock before it goes idle.
//! - Once `shutdown` is set no task is queued again; queued tasks are
//!   cancelled (their `JoinHandle`s see a cancellation) by the threads as
//!   they exit; running tasks finish.
//!
//! Shutdown protocol: set `shutdown`, `notify_all`, then wait (bounded or
//! not) until `num_th == 0`, and join the threads that exited.
//!
//! Thread-creation failure (the OS refuses with EAGAIN/ENOMEM, or a
//! generated thread name is invalid): if the pool has other threads, the
//! task stays queued and one of them runs it when free; if it has none, the
//! task is taken back out of the queue and shut down, so its `JoinHandle`
//! returns a cancelled `JoinError` at once (and the error is printed to
//! stderr): never a panic, never a task waiting forever for a thread that
//! will not come. Both paths are exercised by `core/tests/rt_fault_threads.rs`.
use super::{BlockingSchedule, BlockingTask, BlockingWork, Job};
use crate::runtime::{context, scheduler};
use crate::task::{Id, JoinHandle};
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Owns the pool; shuts it down on drop.
pub(crate) struct BlockingPool {
    spawner: Spawner,
    /// Set by the first `shutdown`; later calls return at once.
    done: bool,
}

/// Cloneable access to the pool, held by runtime handles.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Mutex<Shared>,
    condvar: Condvar,
    /// Signalled when the last thread exits during shutdown.
    shutdown_cv: Condvar,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    stack_size: Option<usize>,
    keep_alive: Duration,
    thread_cap: usize,
    metrics: Metrics,
}

#[derive(Default)]
struct Metrics {
    num_threads: AtomicUsize,
    num_idle: AtomicUsize,
    queue_depth: AtomicUsize,
}

struct Shared {
    queue: VecDeque<Job>,
    num_th: usize,
    num_idle: usize,
    num_notify: usize,
    /// Threads looking at the queue for a few microseconds after running
    /// work (`spin_for_work`), neither idle nor running.
    num_spinning: usize,
    shutdown: bool,
    next_thread_id: usize,
    threads: HashMap<usize, std::thread::JoinHandle<()>>,
}

/// Why a blocking task could not be queued.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SpawnError {
    /// The pool is shut down.
    ShuttingDown,
    /// No thread exists and none could be created.
    NoThreads,
}

pub(crate) struct PoolConfig {
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_cap: usize,
}

impl BlockingPool {
    pub(crate) fn new(cfg: PoolConfig) -> BlockingPool {
        BlockingPool {
            spawner: Spawner {
                inner: Arc::new(Inner {
                    shared: Mutex::new(Shared {
                        queue: VecDeque::new(),
                        num_th: 0,
                        num_idle: 0,
                        num_notify: 0,
                        num_spinning: 0,
                        shutdown: false,
                        next_thread_id: 0,
                        threads: HashMap::new(),
                    }),
                    condvar: Condvar::new(),
                    shutdown_cv: Condvar::new(),
                    thread_name: cfg.thread_name,
                    stack_size: cfg.stack_size,
                    keep_alive: cfg.keep_alive,
                    thread_cap: cfg.thread_cap.max(1),
                    metrics: Metrics::default(),
                }),
            },
            done: false,
        }
    }

    pub(crate) fn spawner(&self) -> &Spawner {
        &self.spawner
    }

    /// Stops the pool: queued tasks are cancelled, running ones finish.
    /// Waits up to `timeout` (forever if `None`) for the threads to exit;
    /// threads still running after that are detached. Idempotent.
    pub(crate) fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let inner = &self.spawner.inner;
        let mut s = inner.shared.lock();
        s.shutdown = true;
        inner.condvar.notify_all();
        // Never wait on ourselves: a blocking-pool thread dropping its own
        // runtime, or a runtime thread, must not hang.
        let deadline = timeout.map(|t| Instant::now() + t);
        while s.num_th > 0 && !context::is_entered() && !is_pool_thread() {
            match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    let _ = inner.shutdown_cv.wait_for(&mut s, d - now);
                }
                None => inner.shutdown_cv.wait(&mut s),
            }
        }
        let exited = s.num_th == 0;
        let threads: Vec<_> = s.threads.drain().map(|(_, t)| t).collect();
        let stranded: Vec<_> = if exited {
            s.queue.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(s);
        for job in stranded {
            job.shutdown();
        }
        if exited {
            for t in threads {
                let _ = t.join();
            }
        }
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

thread_local! {
    static IS_POOL_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn is_pool_thread() -> bool {
    IS_POOL_THREAD.try_with(|c| c.get()).unwrap_or(false)
}

impl Spawner {
    /// Queues `func` on the pool; the task's `JoinHandle` reports a
    /// cancellation if the pool is shut down.
    pub(crate) fn spawn_blocking<F, R>(&self, rt: &scheduler::Handle, func: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (task, join) = crate::task::raw::unowned(
            BlockingTask::new(func),
            BlockingSchedule::new(rt),
            Id::next(),
        );
        if let Err((job, _)) = self.spawn_job(Job::Task(task), rt) {
            job.shutdown();
        }
        join
    }

    /// Queues a [`BlockingWork`] item; if it cannot be queued (shut down,
    /// no thread), its `cancel` runs here.
    pub(crate) fn spawn_work(&self, rt: &scheduler::Handle, work: Arc<dyn BlockingWork>) {
        if let Err((job, _)) = self.spawn_job(Job::Work(work, BlockingSchedule::new(rt)), rt) {
            job.shutdown();
        }
    }

    fn spawn_job(&self, job: Job, rt: &scheduler::Handle) -> Result<(), (Job, SpawnError)> {
        let inner = &self.inner;
        let mut s = inner.shared.lock();
        if s.shutdown {
            return Err((job, SpawnError::ShuttingDown));
        }
        s.queue.push_back(job);
        inner
            .metrics
            .queue_depth
            .store(s.queue.len(), Ordering::Relaxed);
        if s.queue.len() <= s.num_spinning {
            // A spinning thread takes each queued job within microseconds:
            // no wake-up (a futex call here and a context switch there per
            // job, which is what a stream of short jobs would cost). Jobs
            // beyond the spinners' count wake or start threads as usual.
            return Ok(());
        }
        if s.num_idle > s.num_notify {
            s.num_notify += 1;
            inner.condvar.notify_one();
            return Ok(());
        }
        if s.num_th >= inner.thread_cap {
            // Every thread is busy; the task waits its turn in the queue.
            return Ok(());
        }
        let id = s.next_thread_id;
        s.next_thread_id += 1;
        match self.spawn_thread(id, rt) {
            Ok(handle) => {
                s.num_th += 1;
                inner.metrics.num_threads.store(s.num_th, Ordering::Relaxed);
                s.threads.insert(id, handle);
                Ok(())
            }
            Err(e) if s.num_th == 0 => {
                let job = s.queue.pop_back().expect("just pushed");
                inner
                    .metrics
                    .queue_depth
                    .store(s.queue.len(), Ordering::Relaxed);
                drop(s);
                eprintln!("runtime: failed to spawn a blocking-pool thread: {e}");
                Err((job, SpawnError::NoThreads))
            }
            // Other threads exist and will reach the queued task.
            Err(_) => Ok(()),
        }
    }

    fn spawn_thread(
        &self,
        id: usize,
        rt: &scheduler::Handle,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let b = crate::runtime::builder::thread_builder(
            (self.inner.thread_name)(),
            self.inner.stack_size,
        )?;
        let rt = rt.clone();
        let inner = self.inner.clone();
        b.spawn(move || {
            IS_POOL_THREAD.with(|c| c.set(true));
            let _cx = context::set_current(&rt);
            drop(rt);
            inner.run(id);
        })
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.inner.metrics.num_threads.load(Ordering::Relaxed)
    }

    pub(crate) fn num_idle_threads(&self) -> usize {
        self.inner.metrics.num_idle.load(Ordering::Relaxed)
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.inner.metrics.queue_depth.load(Ordering::Relaxed)
    }
}

/// Rounds of looking at the queue after running work, before sleeping:
/// the first half `spin_loop` hints, the rest `yield_now`s (a few
/// microseconds in all).
const SPIN_ROUNDS: u32 = 32;

impl Inner {
    /// Returns once the queue looks non-empty or `SPIN_ROUNDS` passed.
    fn spin_for_work(&self) {
        for i in 0..SPIN_ROUNDS {
            if self.metrics.queue_depth.load(Ordering::Relaxed) > 0 {
                return;
            }
            if i < SPIN_ROUNDS / 2 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    fn run(&self, id: usize) {
        let mut s = self.shared.lock();
        'main: loop {
            let mut ran = false;
            while let Some(job) = s.queue.pop_front() {
                self.metrics
                    .queue_depth
                    .store(s.queue.len(), Ordering::Relaxed);
                let shutdown = s.shutdown;
                drop(s);
                if shutdown {
                    job.shutdown();
                } else {
                    job.run();
                }
                ran = true;
                s = self.shared.lock();
            }
            if s.shutdown {
                break 'main;
            }
            if ran {
                // Work often comes in streams of short items: look again
                // for a few microseconds before sleeping, so that each item
                // of a stream does not cost a wake-up and a context switch.
                // Not counted idle meanwhile, so spawners do not notify us;
                // counted spinning, so they leave a job to us.
                s.num_spinning += 1;
                drop(s);
                self.spin_for_work();
                s = self.shared.lock();
                s.num_spinning -= 1;
                if s.shutdown || !s.queue.is_empty() {
                    // New work, or a shutdown whose notify_all came while we
                    // were not waiting: the top of the loop runs (or, after
                    // shutdown, cancels) what is queued, then leaves.
                    continue 'main;
                }
            }
            s.num_idle += 1;
            self.metrics.num_idle.store(s.num_idle, Ordering::Relaxed);
            loop {
                let timed_out = self.condvar.wait_for(&mut s, self.keep_alive).timed_out();
                if s.num_notify > 0 {
                    s.num_notify -= 1;
                    s.num_idle -= 1;
                    break;
                }
                if s.shutdown {
                    s.num_idle -= 1;
                    break;
                }
                if timed_out {
                    // Idle past keep-alive: exit, detaching our handle.
                    s.num_idle -= 1;
                    self.metrics.num_idle.store(s.num_idle, Ordering::Relaxed);
                    s.threads.remove(&id);
                    break 'main;
                }
            }
            self.metrics.num_idle.store(s.num_idle, Ordering::Relaxed);
        }
        s.num_th -= 1;
        self.metrics.num_threads.store(s.num_th, Ordering::Relaxed);
        if s.shutdown && s.num_th == 0 {
            self.shutdown_cv.notify_all();
        }
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("threads", &self.num_threads())
            .field("idle", &self.num_idle_threads())
            .finish()
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spawner.fmt(f)
    }
}
