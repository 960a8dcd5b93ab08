//! The spawning side of the blocking pool ([`Spawner`]): queueing a job,
//! handing it to a thread (a spinner, an idle thread woken, or a new
//! thread), cancelling it when the pool is shut down or no thread can be
//! started, and the pool's counters. The protocols it follows (the
//! hand-off, `spawning` and shutdown, thread-creation failure) are stated
//! in the parent module's doc.
use super::{own_counts, InFlight, Spawner, POOL_OF_THREAD};
use crate::loom::sync::atomic::{fence, Ordering};
use crate::loom::sync::Arc;
use crate::loom::thread::JoinHandle as ThreadHandle;
use crate::runtime::blocking::{
    BlockingSchedule, BlockingTask, BlockingWork, CancelReason, Job, RawBlockingWork,
};
use crate::runtime::scheduler;
use crate::task::{Id, JoinHandle};
use std::fmt;
use std::time::Instant;

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
        self.spawn_job(Job::Task(task), rt);
        join
    }

    /// Queues a [`BlockingWork`] item; if it cannot be queued (shut down,
    /// no thread), its `cancel` runs here.
    pub(crate) fn spawn_work(
        &self,
        rt: &scheduler::Handle,
        work: std::sync::Arc<dyn BlockingWork>,
    ) {
        self.spawn_job(Job::Work(work, BlockingSchedule::new(rt)), rt);
    }

    /// Queues a [`RawBlockingWork`] item; if it cannot be queued (shut
    /// down, no thread), its `cancel` runs here.
    pub(crate) fn spawn_raw(&self, rt: &scheduler::Handle, work: RawBlockingWork) {
        self.spawn_job(Job::Raw(work, BlockingSchedule::new(rt)), rt);
    }

    /// Queues `job`, or cancels it here: when the pool is shut down, and
    /// when no thread could be started (then with every other job queued
    /// meanwhile).
    fn spawn_job(&self, job: Job, rt: &scheduler::Handle) {
        self.spawn_job_with(job, |id| self.spawn_thread(id, rt));
    }

    /// `spawn_job`, with `start(id)` starting pool thread `id` when one is
    /// needed (a thread of the runtime; in the loom model, a model thread).
    fn spawn_job_with(
        &self,
        job: Job,
        start: impl FnOnce(usize) -> std::io::Result<ThreadHandle<()>>,
    ) {
        let inner = &self.inner;
        // Counted from before the flag is read until the job is queued and
        // handed off: `shutdown` waits for spawns in flight after setting
        // the flag (see "Shutdown protocol"). A guard, so that a panic in
        // between (a thread-name function) cannot leave it counted.
        let spawning = InFlight::enter(&inner.spawning);
        if inner.shutdown.load(Ordering::SeqCst) {
            return inner.cancel_own(job, spawning);
        }
        inner.queue.push(job);
        let handed = self.hand_off(start);
        drop(spawning);
        if let Err(e) = handed {
            eprintln!("runtime: failed to spawn a blocking-pool thread: {e}");
            // No thread will come for what is queued: cancel it all (our
            // job and any pushed by a spawner racing us, which found or
            // will find no thread either), on this thread counted as one
            // of the pool's (`drain_as_pool`), outside every lock: a
            // cancel may spawn again. A thread started meanwhile by another
            // spawner may run some of the jobs instead; whoever pops a job
            // runs or cancels it.
            inner.drain_as_pool(CancelReason::NoThreads);
        }
    }

    /// After a push: makes sure a thread will take the job (a spinner, an
    /// idle thread notified, or a new thread). `Err` when the pool has no
    /// thread and none could be started.
    fn hand_off(
        &self,
        start: impl FnOnce(usize) -> std::io::Result<ThreadHandle<()>>,
    ) -> std::io::Result<()> {
        let inner = &self.inner;
        // Pairs with the fence in `run` (after a spinner leaves): see the
        // module's invariants. The length is read before the spinners:
        // a spinner stops counting itself before it takes a job, so a job
        // taken between the two reads is one that the count no longer
        // promises to take.
        fence(Ordering::SeqCst);
        let len = inner.queue.len();
        let spinning = inner.num_spinning.load(Ordering::SeqCst);
        if spinning > 0 && len <= spinning {
            // A spinning thread takes each queued job within microseconds:
            // no wake-up (a futex call here and a context switch there per
            // job, which is what a stream of short jobs would cost). Jobs
            // beyond the spinners' count wake or start threads as usual.
            return Ok(());
        }
        let mut s = inner.shared.lock();
        if s.num_idle > s.num_notify {
            s.num_notify += 1;
            inner.condvar.notify_one();
            return Ok(());
        }
        if s.num_th >= inner.thread_cap {
            // Every thread is busy; the job waits its turn in the queue.
            return Ok(());
        }
        let id = s.next_thread_id;
        s.next_thread_id += 1;
        match start(id) {
            Ok(handle) => {
                s.num_th += 1;
                inner.metrics.num_threads.store(s.num_th, Ordering::Relaxed);
                s.threads.insert(id, handle);
                Ok(())
            }
            Err(e) if s.num_th == 0 => Err(e),
            // Other threads exist and will reach the queued job.
            Err(_) => Ok(()),
        }
    }

    #[cfg(not(loom))]
    fn spawn_thread(&self, id: usize, rt: &scheduler::Handle) -> std::io::Result<ThreadHandle<()>> {
        let b = crate::runtime::builder::thread_builder(
            (self.inner.thread_name)(),
            self.inner.stack_size,
        )?;
        let rt = rt.clone();
        let inner = self.inner.clone();
        b.spawn(move || {
            POOL_OF_THREAD.with(|c| c.set(Arc::as_ptr(&inner) as usize));
            let _cx = crate::runtime::context::set_current(&rt);
            drop(rt);
            inner.run(id);
        })
    }

    /// The loom model's pool threads: model threads, with no runtime
    /// context (the model's jobs need none).
    #[cfg(loom)]
    fn spawn_thread(
        &self,
        id: usize,
        _rt: &scheduler::Handle,
    ) -> std::io::Result<ThreadHandle<()>> {
        Ok(self.spawn_model_thread(id))
    }

    #[cfg(loom)]
    fn spawn_model_thread(&self, id: usize) -> ThreadHandle<()> {
        let inner = self.inner.clone();
        crate::loom::thread::spawn(move || {
            POOL_OF_THREAD.with(|c| c.set(Arc::as_ptr(&inner) as usize));
            inner.run(id);
        })
    }

    /// Queues a job in the loom model (`tests::loom::blocking_pool`):
    /// `spawn_job` without a runtime handle.
    #[cfg(all(loom, test))]
    pub(crate) fn spawn_model_job(&self, job: Job) {
        self.spawn_job_with(job, |id| Ok(self.spawn_model_thread(id)));
    }

    /// As `spawn_model_job`, where starting a thread fails (the OS
    /// refusing one).
    #[cfg(all(loom, test))]
    pub(crate) fn spawn_model_job_no_thread(&self, job: Job) {
        self.spawn_job_with(job, |_| {
            Err(std::io::Error::other("the model refuses a thread"))
        });
    }

    /// Waits until the pool is shut down and no job is queued, running or
    /// being cancelled (other than the ones the calling thread is inside
    /// of), up to `deadline` (`None`: no limit). Returns whether that
    /// happened. Idle threads still exiting do not count.
    pub(crate) fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        let inner = &*self.inner;
        let own = own_counts(Arc::as_ptr(&self.inner) as usize);
        let mut s = inner.shared.lock();
        // `quiesced` is set, and `active` drops, before the lock is taken
        // to signal `shutdown_cv` (`BlockingPool::shutdown`,
        // `leave_active`), so a change is seen here or signalled later. The
        // queue is read before `active`: a thread counts itself in `active`
        // before it takes a job, so a job gone from the queue is seen
        // counted.
        loop {
            let idle = inner.quiesced.load(Ordering::SeqCst)
                && inner.queue.is_empty()
                && inner.active.load(Ordering::SeqCst) <= own;
            if idle {
                return true;
            }
            if !inner.wait_shutdown_cv(&mut s, deadline) {
                return false;
            }
        }
    }

    /// Whether the calling thread is running (or cancelling) a job of this
    /// pool.
    pub(crate) fn in_job(&self) -> bool {
        own_counts(Arc::as_ptr(&self.inner) as usize) > 0
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.inner.metrics.num_threads.load(Ordering::Relaxed)
    }

    pub(crate) fn num_idle_threads(&self) -> usize {
        self.inner.metrics.num_idle.load(Ordering::Relaxed)
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.inner.queue.len()
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
