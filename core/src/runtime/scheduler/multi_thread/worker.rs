//! The worker loop of the multi-thread scheduler.
//!
//! # Design
//! Each worker thread owns a boxed [`Core`]: its local FIFO run queue, a
//! LIFO slot, a tick counter, its parker and a private RNG. Only the thread
//! running the worker touches the core; while a task runs (or the worker
//! parks) the core sits in the thread's [`Context`], so a wake on this
//! thread schedules locally without any lock.
//!
//! Where a task comes from, in order:
//! 1. every `global_queue_interval` ticks, the global inject queue first (so
//!    remote work never starves): the worker's share of it, moved behind
//!    its queued local tasks (Tokio takes a single task here), with the
//!    local queue capped at `MAX_INJECT_BATCH` tasks by these moves;
//! 2. the LIFO slot (the task this worker just woke: message-passing
//!    locality), then the local queue;
//! 3. a batch from the inject queue;
//! 4. stealing: a bounded number of *searching* workers take half of a
//!    random sibling's queue; a worker that still has yielded tasks of its
//!    own to run does not search, and takes only a sibling's surplus over
//!    its own share, or half the queue of a sibling stuck in one poll
//!    (`steal_surplus`);
//! 5. otherwise park (see `park.rs`; the parked worker holding the driver
//!    drives I/O and timers).
//!
//! Steps 1-4 and the searching/parked transitions are `Core`'s methods in
//! `worker/next_task.rs`; this file has the loop, the context, scheduling
//! a woken task and the shutdown.
//!
//! Every `event_interval` ticks a busy worker polls the driver without
//! blocking, so timers and I/O events are processed even when no one parks.
//!
//! Who touches what: `Core` is the worker's own; of the shared `Remote`,
//! siblings use the stealer and the unparker, and read `progress`, which
//! only its worker writes (a `Relaxed` store of its tick per task).
//!
//! # Shutdown protocol
//! `Handle::shutdown` sets `is_shutdown` and unparks every worker. Each
//! worker notices at its next maintenance, leaves its loop, cancels its
//! share of `OwnedTasks` (futures are dropped on worker threads) and hands
//! its core to `shutdown_cores`. The last worker to do so drains every local
//! queue and the inject queue and shuts the driver down. A task pushed to
//! the inject queue after that drain is dropped by the pusher itself, which
//! re-checks `is_shutdown` after pushing.
// Cores are boxed so that moving one in and out of the thread's context
// (on every task poll) copies a pointer, not the whole struct.
#![allow(clippy::vec_box)]
use super::idle::Idle;
use super::park::{Parker, SharedDriver, Unparker};
use super::queue::{self, Inject, Local};
use super::Handle;
use crate::locks::Mutex;
use crate::runtime::context;
use crate::runtime::scheduler;
use crate::task::list::OwnedTasks;
use crate::task::{coop, Notified, Schedule, Task};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

mod next_task;

/// Polls of LIFO-slot tasks in a row before the slot is bypassed, so two
/// tasks pinging each other cannot starve the rest of the queue.
const MAX_LIFO_POLLS_PER_TICK: usize = 3;

pub(crate) type Notif = Notified<Arc<Handle>>;

/// State shared by all workers.
pub(crate) struct Shared {
    pub(super) remotes: Box<[Remote]>,
    pub(super) inject: Inject<Notif>,
    pub(super) idle: Idle,
    pub(super) owned: OwnedTasks<Arc<Handle>>,
    pub(super) shutdown_cores: Mutex<Vec<Box<Core>>>,
    /// Worker threads that have not yet finished `run`.
    pub(super) alive: Mutex<usize>,
    pub(super) all_exited: crate::locks::Condvar,
    pub(super) is_shutdown: AtomicBool,
    pub(super) driver: Arc<SharedDriver>,
    pub(super) config: Config,
}

pub(super) struct Remote {
    pub(super) steal: queue::Remote<Notif>,
    pub(super) unpark: Unparker,
    /// The worker's tick, published as it takes each task: a sibling that
    /// sees it unchanged between two looks knows the worker is stuck in
    /// one poll (see `Core::steal_surplus`).
    progress: Progress,
}

/// A worker's published tick, alone in its cache line: its owner writes it
/// for every task, siblings read it only when deciding whether to steal.
#[repr(align(128))]
struct Progress(AtomicU32);

/// Scheduler tuning.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Fixed interval, or `None` to tune it from measured poll times.
    pub(crate) global_queue_interval: Option<u32>,
    pub(crate) event_interval: u32,
}

/// One worker's private state.
pub(crate) struct Core {
    index: usize,
    tick: u32,
    lifo_slot: Option<Notif>,
    lifo_enabled: bool,
    run_queue: Local<Notif>,
    is_searching: bool,
    is_shutdown: bool,
    /// Each sibling's `progress` as this worker last saw it.
    seen: Box<[u32]>,
    park: Option<Parker>,
    rng: fastrand::Rng,
    stats: Stats,
    /// Ticks between checks of the injection queue (see `tune_interval`).
    /// A tick is one `run_task`: a task plus the LIFO-slot successors it
    /// runs inline (at most `MAX_LIFO_POLLS_PER_TICK`), as in Tokio.
    global_queue_interval: u32,
    /// Ticks since the last such check.
    ticks_since_global: u32,
    /// Start of the current tuning window, and ticks since.
    tune_start: std::time::Instant,
    tune_ticks: u64,
}

/// Aim: look at the injection queue about every 200 µs of polling, so
/// remote work waits a bounded time even when every worker is busy.
const TARGET_GLOBAL_QUEUE_INTERVAL: std::time::Duration = std::time::Duration::from_micros(200);
const DEFAULT_GLOBAL_QUEUE_INTERVAL: u32 = 61;

#[derive(Default)]
struct Stats {
    polls: u64,
    steals: u64,
    steal_operations: u64,
    local_schedule: u64,
}

/// Builds the per-worker cores and the shared remotes.
pub(super) fn build(
    n: usize,
    driver: Arc<SharedDriver>,
    seed: u64,
    config: &Config,
) -> (Vec<Box<Core>>, Box<[Remote]>) {
    let mut cores = Vec::with_capacity(n);
    let mut remotes = Vec::with_capacity(n);
    for index in 0..n {
        let (local, steal) = queue::local();
        let park = Parker::new(driver.clone());
        remotes.push(Remote {
            steal,
            unpark: park.unparker(),
            progress: Progress(AtomicU32::new(0)),
        });
        cores.push(Box::new(Core {
            index,
            tick: 0,
            lifo_slot: None,
            lifo_enabled: true,
            run_queue: local,
            is_searching: false,
            is_shutdown: false,
            seen: vec![u32::MAX; n].into_boxed_slice(),
            park: Some(park),
            rng: fastrand::Rng::with_seed(seed.wrapping_add(index as u64 * 0x9E37_79B9)),
            stats: Stats::default(),
            global_queue_interval: config
                .global_queue_interval
                .unwrap_or(DEFAULT_GLOBAL_QUEUE_INTERVAL),
            tune_start: std::time::Instant::now(),
            tune_ticks: 0,
            ticks_since_global: 0,
        }));
    }
    (cores, remotes.into_boxed_slice())
}

/// Per-thread state of a running worker.
struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static CONTEXT: Cell<*const Context> = const { Cell::new(std::ptr::null()) };
}

fn with_context<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let ptr = CONTEXT.try_with(|c| c.get()).unwrap_or(std::ptr::null());
    // SAFETY: CONTEXT holds either null or a pointer to the `Context` on the
    // stack of `run` below, which clears it before returning.
    f(unsafe { ptr.as_ref() })
}

/// The body of a worker thread.
pub(super) fn run(handle: Arc<Handle>, core: Box<Core>) {
    let sched = scheduler::Handle::MultiThread(handle.clone());
    let _enter = context::enter_runtime(&sched);
    let cx = Context {
        handle,
        core: RefCell::new(None),
    };
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|c| c.set(std::ptr::null()));
        }
    }
    CONTEXT.with(|c| c.set(&cx as *const Context));
    let _reset = Reset;
    let _exit = ExitGuard { cx: &cx };
    let core = context::with_defer(|| cx.run(core));
    cx.handle.shutdown_core(core);
}

/// Runs when a worker leaves `run`, normally or by unwinding: if a panic
/// escaped (a scheduler bug, or a foreign waker that panicked inside the
/// driver), the core left in the context still goes through the shutdown
/// protocol so the runtime can finish shutting down; then the worker counts
/// itself out.
struct ExitGuard<'a> {
    cx: &'a Context,
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        let handle = &self.cx.handle;
        if std::thread::panicking() {
            handle.signal_shutdown();
            let core = self.cx.core.borrow_mut().take();
            if let Some(core) = core {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handle.shutdown_core(core)
                }));
            }
        }
        let mut alive = handle.shared.alive.lock();
        *alive -= 1;
        if *alive == 0 {
            handle.shared.all_exited.notify_all();
        }
    }
}

impl Context {
    fn run(&self, mut core: Box<Core>) -> Box<Core> {
        let handle = &*self.handle;
        while !core.is_shutdown {
            core.tick = core.tick.wrapping_add(1);
            handle.shared.remotes[core.index]
                .progress
                .0
                .store(core.tick, Ordering::Relaxed);
            if core.tick % handle.shared.config.event_interval == 0 {
                core = self.park_yield(core);
                core.maintenance(handle);
                if core.is_shutdown {
                    break;
                }
            }
            if let Some(task) = core.next_task(handle) {
                core = self.run_task(task, core);
                continue;
            }
            let deferred = context::deferred_len();
            let stolen = if deferred == 0 {
                core.steal_work(handle)
            } else {
                core.steal_surplus(handle, deferred)
            };
            if let Some(task) = stolen {
                core = self.run_task(task, core);
                continue;
            }
            // Out of work: yielded tasks run again, after a look at the
            // driver; only with nothing deferred does the worker sleep.
            if deferred > 0 {
                core = self.park_yield(core);
                // A shutdown unpark is only remembered by a yield: look now.
                core.maintenance(handle);
            } else {
                core = self.park(core);
            }
        }
        core
    }

    fn run_task(&self, task: Notif, mut core: Box<Core>) -> Box<Core> {
        core.transition_from_searching(&self.handle);
        core.lifo_enabled = true;
        core.stats.polls += 1;
        core.tune_ticks += 1;
        core.ticks_since_global += 1;
        *self.core.borrow_mut() = Some(core);
        coop::budget(|| {
            task.run();
            let mut lifo_polls = 0;
            loop {
                let mut core = self
                    .core
                    .borrow_mut()
                    .take()
                    .expect("worker core missing after running a task");
                let Some(task) = core.lifo_slot.take() else {
                    return core;
                };
                if !coop::has_budget_remaining() || lifo_polls >= MAX_LIFO_POLLS_PER_TICK {
                    // Out of budget: queue it like any other task.
                    core.lifo_enabled = false;
                    core.run_queue.push(task);
                    if core.run_queue.len() > 1 {
                        self.handle.notify_parked();
                    }
                    return core;
                }
                lifo_polls += 1;
                core.stats.polls += 1;
                *self.core.borrow_mut() = Some(core);
                task.run();
            }
        })
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        let handle = &*self.handle;
        if core.transition_to_parked(handle) {
            while !core.is_shutdown {
                core = self.park_timeout(core, false);
                core.maintenance(handle);
                if core.transition_from_parked(handle) {
                    break;
                }
            }
        }
        core
    }

    fn park_yield(&self, core: Box<Core>) -> Box<Core> {
        self.park_timeout(core, true)
    }

    fn park_timeout(&self, mut core: Box<Core>, yield_only: bool) -> Box<Core> {
        let handle = &*self.handle;
        let mut park = core.park.take().expect("worker parker missing");
        if !yield_only {
            // A yield is followed by `maintenance`, which flushes then.
            core.flush_stats(handle);
            handle.worker_metrics[core.index]
                .parks
                .fetch_add(1, Ordering::Relaxed);
        }
        *self.core.borrow_mut() = Some(core);
        if yield_only {
            park.park_yield(&handle.driver);
        } else {
            park.park(&handle.driver);
        }
        // The core is in the context: deferred tasks go to the local queue.
        context::wake_deferred();
        let mut core = self
            .core
            .borrow_mut()
            .take()
            .expect("worker core missing after parking");
        core.park = Some(park);
        if !yield_only {
            // Time asleep is not polling time.
            core.tune_start = std::time::Instant::now();
            core.tune_ticks = 0;
        }
        if core.should_notify_others() {
            handle.notify_parked();
        }
        core
    }
}

impl Handle {
    pub(super) fn schedule_task(self: &Arc<Self>, task: Notif, is_yield: bool) {
        with_context(|cx| {
            if let Some(cx) = cx.filter(|cx| Arc::ptr_eq(&cx.handle, self)) {
                let mut slot = cx.core.borrow_mut();
                if let Some(core) = slot.as_mut() {
                    self.schedule_local(core, task, is_yield);
                    return;
                }
            }
            self.push_remote_task(task);
            self.notify_parked_after_inject();
        })
    }

    fn schedule_local(&self, core: &mut Core, task: Notif, is_yield: bool) {
        core.stats.local_schedule += 1;
        let should_notify = if is_yield || !core.lifo_enabled {
            core.run_queue.push(task);
            true
        } else {
            match core.lifo_slot.replace(task) {
                Some(prev) => {
                    core.run_queue.push(prev);
                    true
                }
                None => false,
            }
        };
        // While the worker is parked (its parker taken), it re-checks after
        // waking instead.
        if should_notify && core.park.is_some() {
            self.notify_parked();
        }
    }

    fn push_remote_task(&self, task: Notif) {
        self.scheduler_metrics.inc_remote_schedule();
        self.shared.inject.push(task);
        if self.shared.is_shutdown.load(Ordering::SeqCst) {
            // The final drain may already have run: drop what we pushed.
            while let Some(t) = self.shared.inject.pop() {
                drop(t);
            }
        }
    }

    pub(super) fn notify_parked(&self) {
        self.notify(self.shared.idle.worker_to_notify(false));
    }

    /// `notify_parked` right after a push to the injection queue, whose
    /// SeqCst tail update orders the idle check (see
    /// `Idle::worker_to_notify`).
    fn notify_parked_after_inject(&self) {
        self.notify(self.shared.idle.worker_to_notify(true));
    }

    fn notify(&self, worker: Option<usize>) {
        if let Some(i) = worker {
            self.worker_metrics[i]
                .unparks
                .fetch_add(1, Ordering::Relaxed);
            self.shared.remotes[i].unpark.unpark(&self.driver);
        }
    }

    fn notify_if_work_pending(&self) {
        for r in self.shared.remotes.iter() {
            if !r.steal.is_empty() {
                self.notify_parked();
                return;
            }
        }
        if !self.shared.inject.is_empty() {
            self.notify_parked();
        }
    }

    /// Starts shutdown: every worker leaves its loop. Idempotent.
    pub(super) fn signal_shutdown(&self) {
        if self.shared.is_shutdown.swap(true, Ordering::SeqCst) {
            return;
        }
        for r in self.shared.remotes.iter() {
            r.unpark.unpark(&self.driver);
        }
    }

    fn shutdown_core(&self, mut core: Box<Core>) {
        self.shared.owned.close_and_shutdown_all(core.index);
        core.flush_stats(self);
        let mut cores = self.shared.shutdown_cores.lock();
        cores.push(core);
        if cores.len() != self.shared.remotes.len() {
            return;
        }
        // Last worker out: drain everything and stop the driver.
        for mut core in cores.drain(..) {
            core.drain();
        }
        drop(cores);
        while let Some(t) = self.shared.inject.pop() {
            drop(t);
        }
        self.shared.driver.shutdown(&self.driver);
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.schedule_task(task, true);
    }
}

impl Handle {
    /// Waits until every worker left `run`, or `deadline` passes; returns
    /// whether they all did.
    pub(super) fn wait_workers_exited(&self, deadline: Option<std::time::Instant>) -> bool {
        let mut alive = self.shared.alive.lock();
        while *alive > 0 {
            match deadline {
                Some(d) => {
                    if self.shared.all_exited.wait_until(&mut alive, d).timed_out() {
                        return *alive == 0;
                    }
                }
                None => self.shared.all_exited.wait(&mut alive),
            }
        }
        true
    }

    /// Cores whose thread could not be started go straight through the
    /// shutdown protocol, so the last started worker can finish it.
    pub(super) fn adopt_orphan_cores(&self, cores: Vec<Box<Core>>) {
        for core in cores {
            *self.shared.alive.lock() -= 1;
            self.shutdown_core(core);
        }
    }
}
