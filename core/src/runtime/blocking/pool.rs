//! The blocking pool's threads and queue. This file has the pool, its
//! shared state and the threads' loop; the spawning side ([`Spawner`]'s
//! methods) is in `pool/spawner.rs`, the loom model's stand-in queue in
//! `pool/loom_queue.rs`.
//!
//! Design: a lock-free FIFO queue of jobs (`spawn_blocking` tasks and
//! `BlockingWork` items, in a `crossbeam_deque::Injector`), and a mutex
//! plus condvar for the threads' bookkeeping only (how many exist, how many
//! sleep, how many wake-ups are owed). A stream of short jobs therefore
//! costs a spawner one lock-free push and a pool thread one lock-free pop
//! per job: neither side touches the mutex while threads are busy or
//! spinning, so the two do not fight over one cache line per job. A spawn
//! that finds no spinning thread to leave its job to takes the mutex and
//! hands the job to an idle thread (one `notify_one`, counted in
//! `num_notify` so a wake-up is never lost or double-counted) or, when none
//! is idle and fewer than `thread_cap` threads exist, starts a new thread.
//! Idle threads exit after `keep_alive` without work, so the pool shrinks
//! back to zero; each joins the one that left that way before it, and
//! shutdown joins the last one, so (as in Tokio) no thread of the pool is
//! still running once a shutdown has seen them all exit.
//!
//! Invariants:
//! - Under `shared`'s lock: `num_idle` counts threads waiting on the
//!   condvar that have not yet been claimed by a notification;
//!   `num_notify <= num_idle` before a claim.
//! - `num_spinning` counts threads between running work and going idle,
//!   polling the queue. A spawn that sees at most one queued job per
//!   spinner wakes nobody. This cannot strand a job: the spawner pushes,
//!   fences, reads the queue's length and then `num_spinning`; a spinner
//!   decrements it, fences and then looks at the queue (and only then
//!   takes a job). Of two sequentially consistent sides one sees the
//!   other, so either the spawner saw no spinner for its job (and wakes or
//!   starts a thread) or a spinner it counted takes the job; and a spinner
//!   that took a job between the two reads was no longer counted by the
//!   second, so a job is never left to a spinner busy with another one
//!   (which could wait for it forever).
//! - A thread about to sleep counts itself idle and looks at the queue once
//!   more, both under the lock; a spawner pushes before it takes the lock
//!   to look for idle threads. So either the sleeper sees the job or the
//!   spawner sees the sleeper and notifies it.
//! - Once `shutdown` is set no job runs any more: jobs still queued are
//!   cancelled (their `JoinHandle`s see a cancellation, a `BlockingWork`
//!   gets `cancel`). Each job is run or cancelled exactly once, by whoever
//!   pops it, and a thread counts itself in `active` before its first
//!   try to pop and until the last job it took in a row has returned (one
//!   count per run of jobs, not per job): the pool's threads,
//!   the thread shutting the pool down, a spawner that found no thread at
//!   all (`drain_as_pool`), and a spawner cancelling the job it kept
//!   (`cancel_own`). So once the pool is quiesced, the queue empty and
//!   `active` no more than the counts the reader holds itself (read in
//!   that order), no embedder code of any other job is still running
//!   (`wait_idle`).
//!
//! Shutdown protocol: set `shutdown`, wait until no spawn is in flight
//! (`spawning`: a spawner counts itself before it reads the flag and until
//! its job is queued and handed off, so a spawn either sees the flag and
//! cancels its own job, never queueing it, or finishes queueing first),
//! set `quiesced`, `notify_all` under the lock, then wait (bounded or not)
//! until `num_th == 0`, cancel what is left in the queue (whether or not
//! threads are left) and join the threads that exited. A pool thread that
//! sees the flag waits for `quiesced` (nothing can be queued after it),
//! cancels what it finds queued, then exits without another look.
//!
//! Thread-creation failure (the OS refuses with EAGAIN/ENOMEM, or a
//! generated thread name is invalid): if the pool has other threads, the
//! job stays queued and one of them runs it when free; if it has none, the
//! queue is emptied and its jobs are cancelled, so their `JoinHandle`s
//! return a cancelled `JoinError` at once (and the error is printed to
//! stderr): never a panic, never a task waiting forever for a thread that
//! will not come. Both paths are exercised by `core/tests/rt_fault_threads.rs`.
//!
//! Model-checked: `tests::loom::blocking_pool` runs this code on loom's
//! atomics, locks, condvars, thread-locals and threads (the `crate::loom`
//! shim; under `--cfg loom` the queue is a mutex-guarded stand-in for the
//! `Injector`, and pool threads are model threads with no runtime context).
use super::{CancelReason, Job};
use crate::loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Condvar, Mutex, MutexGuard};
use crate::loom::thread::{yield_now, JoinHandle as ThreadHandle};
#[cfg(loom)]
use crate::loom::thread_local;
use crate::runtime::context;
#[cfg(not(loom))]
use crossbeam_deque::{Injector, Steal};
#[cfg(loom)]
use loom_queue::{Injector, Steal};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

#[cfg(loom)]
mod loom_queue;
mod spawner;

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
    /// The jobs, in spawn order.
    queue: Injector<Job>,
    /// Threads polling the queue after running work (see `spin_for_work`),
    /// neither idle nor running. On its own cache line: spinners write it
    /// when they start and stop, spawners read it on every spawn.
    num_spinning: Padded<AtomicUsize>,
    /// Set once by `BlockingPool::shutdown`. On its own cache line: pool
    /// threads read it once per job, and nothing written per job may
    /// share its line.
    shutdown: Padded<AtomicBool>,
    /// `spawn_job` calls between their read of `shutdown` and the end of
    /// their hand-off. On its own cache line: spawners write it twice per
    /// job.
    spawning: Padded<AtomicUsize>,
    /// Set by `BlockingPool::shutdown` once no spawn is in flight: from
    /// then on nothing is pushed any more.
    quiesced: AtomicBool,
    /// Threads between their first attempt to take a job and the end of
    /// the last job they took in a row, or inside the cancel of their own
    /// job (`run_queued`, `cancel_own`). On its own cache line: pool
    /// threads write it twice per run of jobs.
    active: Padded<AtomicUsize>,
    shared: Mutex<Shared>,
    condvar: Condvar,
    /// Signalled when the last thread exits during shutdown.
    shutdown_cv: Condvar,
    // Unused by the loom model's threads.
    #[cfg_attr(loom, allow(dead_code))]
    thread_name: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
    #[cfg_attr(loom, allow(dead_code))]
    stack_size: Option<usize>,
    keep_alive: Duration,
    thread_cap: usize,
    metrics: Metrics,
}

/// One count in `Inner::spawning`, released on drop.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(n: &'a AtomicUsize) -> InFlight<'a> {
        n.fetch_add(1, Ordering::SeqCst);
        InFlight(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Keeps a hot atomic off its neighbours' cache line.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[derive(Default)]
struct Metrics {
    num_threads: AtomicUsize,
    num_idle: AtomicUsize,
}

/// The threads' bookkeeping, under `Inner::shared`.
struct Shared {
    num_th: usize,
    num_idle: usize,
    num_notify: usize,
    next_thread_id: usize,
    threads: HashMap<usize, ThreadHandle<()>>,
    /// The handle of the thread that most recently left at keep-alive.
    /// Each such thread takes its predecessor's handle from here and joins
    /// it once out of the lock, and `shutdown` joins the last one, so once
    /// the pool is shut down (and its threads exited) none of them is
    /// still running: not their thread-local destructors, nor the drop of
    /// their runtime handle.
    last_exiting: Option<ThreadHandle<()>>,
}

pub(crate) struct PoolConfig {
    pub(crate) thread_name: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_cap: usize,
}

impl BlockingPool {
    pub(crate) fn new(cfg: PoolConfig) -> BlockingPool {
        BlockingPool {
            spawner: Spawner {
                inner: Arc::new(Inner {
                    queue: Injector::new(),
                    num_spinning: Padded(AtomicUsize::new(0)),
                    shutdown: Padded(AtomicBool::new(false)),
                    spawning: Padded(AtomicUsize::new(0)),
                    quiesced: AtomicBool::new(false),
                    active: Padded(AtomicUsize::new(0)),
                    shared: Mutex::new(Shared {
                        num_th: 0,
                        num_idle: 0,
                        num_notify: 0,
                        next_thread_id: 0,
                        threads: HashMap::new(),
                        last_exiting: None,
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
    /// Waits up to `timeout` (forever if `None`, or too large to add to
    /// the current time) for the threads to exit;
    /// threads still running after that are detached (each cancels what it
    /// finds queued when its job returns). Idempotent.
    pub(crate) fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let inner = &self.spawner.inner;
        inner.shutdown.store(true, Ordering::SeqCst);
        // Spawns that read the flag before it was set finish queueing (and
        // starting a thread) first; later ones see it and cancel their own
        // job. A spawn takes microseconds and runs no embedder code while
        // counted, so this cannot wait on ourselves.
        while inner.spawning.load(Ordering::SeqCst) != 0 {
            yield_now();
        }
        inner.quiesced.store(true, Ordering::SeqCst);
        let mut s = inner.shared.lock();
        inner.condvar.notify_all();
        // For `wait_idle` callers waiting for the shutdown (`quiesced`).
        inner.shutdown_cv.notify_all();
        // Never wait on ourselves: a thread of this pool dropping its own
        // runtime, or a runtime thread, must not hang. A thread of another
        // runtime's pool waits like any other thread.
        // A timeout too large for an `Instant` is no limit.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let own_thread = is_thread_of(inner);
        while s.num_th > 0 && !context::is_entered() && !own_thread {
            if !inner.wait_shutdown_cv(&mut s, deadline) {
                break;
            }
        }
        let exited = s.num_th == 0;
        let threads: Vec<_> = s.threads.drain().map(|(_, t)| t).collect();
        let last_exiting = s.last_exiting.take();
        drop(s);
        // Whatever is still queued now (nothing more can be) is cancelled
        // here, whether or not threads are left: a thread still running a
        // job cancels what it finds afterwards, and whoever pops a job
        // cancels it, so nothing is cancelled twice.
        inner.drain_as_pool(CancelReason::Shutdown);
        // On a thread of this pool, `exited` means that this thread has
        // already counted itself out: it left at keep-alive and is now in
        // its predecessor's join or its thread-local destructors (which
        // dropped the runtime), and its own handle is `last_exiting` (or
        // the handle of the thread now joining it): joining would wait for
        // itself. Nothing is joined then, as nothing was waited for.
        if exited && !own_thread {
            // The last thread to leave at keep-alive joins the one before
            // it, and so on back.
            for t in last_exiting.into_iter().chain(threads) {
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

#[cfg(not(loom))]
thread_local! {
    /// The pool (`Inner` address) this thread is a thread of; 0 on a
    /// thread that is no pool's. Unique while the thread lives: the
    /// thread holds an `Arc` of that `Inner` until it ends.
    static POOL_OF_THREAD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The pools (`Inner` addresses) whose jobs this thread is running or
    /// cancelling right now, innermost last: one entry per count it holds
    /// in a pool's `active` (`run_queued`, `cancel_own`). Nested when a
    /// job's code spawns into a shut-down pool (its own or another
    /// runtime's), which cancels at once on this thread.
    static IN_JOBS: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

// The same per model thread under loom (whose `thread_local!` takes no
// `const` initialisers).
#[cfg(loom)]
thread_local! {
    static POOL_OF_THREAD: std::cell::Cell<usize> = std::cell::Cell::new(0);
    static IN_JOBS: std::cell::RefCell<Vec<usize>> = std::cell::RefCell::new(Vec::new());
}

/// Whether the calling thread is one of `pool`'s threads.
fn is_thread_of(pool: &Inner) -> bool {
    let me = pool as *const Inner as usize;
    POOL_OF_THREAD.try_with(|c| c.get() == me).unwrap_or(false)
}

/// Ends the innermost `Inner::enter_jobs` mark.
fn leave_jobs() {
    let _ = IN_JOBS.try_with(|v| v.borrow_mut().pop());
}

/// How many counts in `pool`'s `active` the calling thread holds.
fn own_counts(pool: usize) -> usize {
    IN_JOBS
        .try_with(|v| v.borrow().iter().filter(|&&p| p == pool).count())
        .unwrap_or(0)
}

/// Rounds of looking at the queue after running work, before sleeping:
/// the first half `spin_loop` hints, the rest `yield_now`s (a few
/// microseconds in all). Two in the loom model (a spinner that looks once
/// and one that looks twice are all its interleavings need).
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 32;
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 2;

impl Inner {
    /// One wait on `shutdown_cv` (woken, spuriously or not, or at
    /// `deadline`; `None`: no limit); `false`, without waiting, once
    /// `deadline` has passed.
    fn wait_shutdown_cv(&self, s: &mut MutexGuard<'_, Shared>, deadline: Option<Instant>) -> bool {
        match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                let _ = self.shutdown_cv.wait_for(s, d - now);
            }
            None => self.shutdown_cv.wait(s),
        }
        true
    }

    /// The next queued job, if any.
    fn pop(&self) -> Option<Job> {
        loop {
            match self.queue.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                // Lost a race with another thread taking a job: look again.
                Steal::Retry => crate::loom::hint::spin_loop(),
            }
        }
    }

    /// Runs queued jobs until the queue is empty, or cancels them with
    /// `cancel` (`Some` on a thread that found the pool shut down or
    /// without threads; jobs popped after a shutdown are cancelled in any
    /// case). The thread counts itself in `active` once, from before its
    /// first attempt to take a job until the queue is found empty, and is
    /// marked as inside this pool's jobs meanwhile: one count for the whole
    /// run of jobs, so a stream of short jobs costs no write to the shared
    /// count per job. Returns whether it took any job.
    fn run_queued(&self, cancel: Option<CancelReason>) -> bool {
        self.enter_jobs();
        self.active.fetch_add(1, Ordering::SeqCst);
        let mut ran = false;
        while let Some(job) = self.pop() {
            match cancel {
                Some(reason) => job.shutdown(reason),
                None if self.shutdown.load(Ordering::Acquire) => {
                    job.shutdown(CancelReason::Shutdown)
                }
                None => job.run(),
            }
            ran = true;
        }
        self.leave_active();
        leave_jobs();
        ran
    }

    /// Cancels a job its spawner kept (the pool was shut down), counted as
    /// the pool's work meanwhile like any other cancel: in `active` before
    /// the spawner stops counting in `spawning`, so `wait_idle` never sees
    /// neither.
    fn cancel_own(&self, job: Job, spawning: InFlight<'_>) {
        self.enter_jobs();
        self.active.fetch_add(1, Ordering::SeqCst);
        drop(spawning);
        job.shutdown(CancelReason::Shutdown);
        self.leave_active();
        leave_jobs();
    }

    /// Marks the calling thread as inside (one more level of) this pool's
    /// jobs, until the matching `leave_jobs`. Jobs never unwind out of
    /// their run or cancel (panics are caught inside), so the two pair up.
    fn enter_jobs(&self) {
        let me = self as *const Inner as usize;
        let _ = IN_JOBS.try_with(|v| v.borrow_mut().push(me));
    }

    /// Ends one count in `active`, signalling `wait_idle` (which may wait
    /// for 0, or for the counts it holds itself) once the pool is shut
    /// down.
    fn leave_active(&self) {
        self.active.fetch_sub(1, Ordering::SeqCst);
        if self.shutdown.load(Ordering::SeqCst) {
            let _s = self.shared.lock();
            self.shutdown_cv.notify_all();
        }
    }

    /// Cancels every queued job from a thread outside the pool's loop
    /// (shutdown's last look, or a spawner that found no thread), counted
    /// as the pool's work meanwhile, so `wait_idle` waits for it.
    fn drain_as_pool(&self, reason: CancelReason) {
        let _ = self.run_queued(Some(reason));
    }

    /// Returns once the queue looks non-empty, the pool is shutting down,
    /// or `SPIN_ROUNDS` passed.
    fn spin_for_work(&self) {
        for i in 0..SPIN_ROUNDS {
            if !self.queue.is_empty() || self.shutdown.load(Ordering::Relaxed) {
                return;
            }
            if i < SPIN_ROUNDS / 2 {
                crate::loom::hint::spin_loop();
            } else {
                yield_now();
            }
        }
    }

    fn run(&self, id: usize) {
        'main: loop {
            if self.shutdown.load(Ordering::SeqCst) {
                // Leave only once nothing more can be queued (spawns in
                // flight have finished) and nothing is: the cancels of
                // what is queued happen in `run_queued` below. An exiting
                // thread with nothing to do never counts itself in
                // `active` (a zero-timeout `wait_idle` must not see it).
                while !self.quiesced.load(Ordering::SeqCst) {
                    yield_now();
                }
                if self.queue.is_empty() {
                    break 'main;
                }
            }
            let ran = self.run_queued(None);
            if self.shutdown.load(Ordering::SeqCst) {
                continue 'main;
            }
            if ran {
                // Work often comes in streams of short items: look again
                // for a few microseconds before sleeping, so that each item
                // of a stream does not cost a wake-up and a context switch.
                // Not counted idle meanwhile, so spawners do not notify us;
                // counted spinning, so they leave a job to us.
                self.num_spinning.fetch_add(1, Ordering::SeqCst);
                self.spin_for_work();
                self.num_spinning.fetch_sub(1, Ordering::SeqCst);
                // Pairs with the spawner's fence: a job pushed by one that
                // counted us as spinning is visible here.
                fence(Ordering::SeqCst);
                if !self.queue.is_empty() || self.shutdown.load(Ordering::Relaxed) {
                    continue 'main;
                }
            }
            let mut s = self.shared.lock();
            s.num_idle += 1;
            // A spawner that pushed before we took the lock found us not
            // idle and did not notify us: look once more before sleeping.
            if !self.queue.is_empty() || self.shutdown.load(Ordering::Relaxed) {
                s.num_idle -= 1;
                continue 'main;
            }
            self.metrics.num_idle.store(s.num_idle, Ordering::Relaxed);
            loop {
                let timed_out = self.idle_wait(&mut s);
                if s.num_notify > 0 {
                    s.num_notify -= 1;
                    s.num_idle -= 1;
                    break;
                }
                if self.shutdown.load(Ordering::Relaxed) {
                    s.num_idle -= 1;
                    break;
                }
                if timed_out {
                    // Idle past keep-alive: exit, leaving our handle to be
                    // joined by the next thread to leave this way or by
                    // `shutdown`, and joining our predecessor's (see
                    // `Shared::last_exiting`). A job pushed meanwhile found
                    // us idle and notified us (handled above), or will find
                    // us gone and start a thread: it takes the lock after
                    // we leave it.
                    s.num_idle -= 1;
                    self.metrics.num_idle.store(s.num_idle, Ordering::Relaxed);
                    let mine = s.threads.remove(&id);
                    let previous = std::mem::replace(&mut s.last_exiting, mine);
                    self.exit(s);
                    if let Some(t) = previous {
                        let _ = t.join();
                    }
                    return;
                }
            }
            self.metrics.num_idle.store(s.num_idle, Ordering::Relaxed);
        }
        let s = self.shared.lock();
        self.exit(s);
    }

    /// An idle thread's wait for a notification, up to `keep_alive`;
    /// returns whether it timed out.
    #[cfg(not(loom))]
    fn idle_wait<'a>(&'a self, s: &mut MutexGuard<'a, Shared>) -> bool {
        self.condvar.wait_for(s, self.keep_alive).timed_out()
    }

    /// The loom model's idle wait. loom has no time, so its timed waits
    /// never time out; a zero `keep_alive` instead stands for a wait that
    /// times out at once: the lock is released and taken again (a spawner
    /// may notify in between, as at a real timeout) and the wait reports a
    /// timeout, so the model can race a thread's keep-alive exit against a
    /// spawn.
    #[cfg(loom)]
    fn idle_wait<'a>(&'a self, s: &mut MutexGuard<'a, Shared>) -> bool {
        if !self.keep_alive.is_zero() {
            return self.condvar.wait_for(s, self.keep_alive).timed_out();
        }
        // SAFETY: the guard is moved out and replaced by a new guard of the
        // same mutex before anything else can use `*s` (nothing here
        // unwinds under loom).
        unsafe {
            drop(std::ptr::read(s));
            crate::loom::thread::yield_now();
            std::ptr::write(s, self.shared.lock());
        }
        true
    }

    /// Counts the calling thread out of the pool.
    fn exit(&self, mut s: MutexGuard<'_, Shared>) {
        s.num_th -= 1;
        self.metrics.num_threads.store(s.num_th, Ordering::Relaxed);
        if self.shutdown.load(Ordering::Relaxed) && s.num_th == 0 {
            self.shutdown_cv.notify_all();
        }
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spawner.fmt(f)
    }
}
