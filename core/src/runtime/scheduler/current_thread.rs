//! The current-thread scheduler: every task runs on the thread that calls
//! `block_on`, libuv-style.
//!
//! # Design
//! The scheduler state that only the driving thread may touch lives in a
//! boxed [`Core`] (local run queue, tick counter, the driver). Exactly one
//! thread holds the core at a time: `block_on` takes it out of
//! `CurrentThread::core`, and puts it back when the future completes. A
//! second thread calling `block_on` meanwhile polls its own future on a
//! parked thread until the core is released, then takes it.
//!
//! While a task runs (or the driver parks), the core is stored in the
//! thread's [`Context`], so a wake on the driving thread pushes to the local
//! queue without locking; a wake from any other thread pushes to the
//! mutex-guarded inject queue and unparks the driver.
//!
//! Fairness: the inject queue is checked first every `global_queue_interval`
//! ticks, and the driver is polled (without blocking) every
//! `event_interval` tasks, so I/O and timers are never starved by a busy
//! queue.
//!
//! # Shutdown protocol
//! `shutdown` takes the core, closes `OwnedTasks` and cancels every task
//! (their futures are dropped on the shutting-down thread, with the core in
//! context), drains the local and inject queues, closes the inject queue
//! (later remote schedules drop their task) and shuts the driver down.
use crate::locks::Mutex;
use crate::runtime::blocking::Spawner;
use crate::runtime::context;
use crate::runtime::driver::{self, Driver};
use crate::runtime::metrics::{SchedulerMetrics, WorkerMetrics};
use crate::runtime::scheduler;
use crate::task::list::OwnedTasks;
use crate::task::{coop, Id, JoinHandle, Notified, Schedule, Task};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

/// The scheduler object owned by the `Runtime`.
pub(crate) struct CurrentThread {
    core: Mutex<Option<Box<Core>>>,
    /// Threads waiting in `block_on` for the core to be released.
    waiters: Mutex<Vec<Waker>>,
}

/// Shared handle; tasks hold it as their scheduler.
pub(crate) struct Handle {
    shared: Shared,
    pub(crate) driver: driver::Handle,
    pub(crate) blocking_spawner: Spawner,
    pub(crate) scheduler_metrics: SchedulerMetrics,
    pub(crate) worker_metrics: WorkerMetrics,
    config: Config,
}

struct Shared {
    /// Tasks scheduled from other threads; `None` once closed.
    inject: Mutex<Option<VecDeque<Notified<Arc<Handle>>>>>,
    inject_len: AtomicUsize,
    local_len: AtomicUsize,
    owned: OwnedTasks<Arc<Handle>>,
    /// The `block_on` future was woken.
    woken: AtomicBool,
}

pub(crate) struct Config {
    pub(crate) global_queue_interval: u32,
    pub(crate) event_interval: u32,
}

struct Core {
    tasks: VecDeque<Notified<Arc<Handle>>>,
    tick: u32,
    /// Boxed: it is taken out and put back around every park, and a
    /// pointer moves in one register where the driver would be copied.
    driver: Option<Box<Driver>>,
    is_shutdown: bool,
}

/// Per-thread state while this thread drives the scheduler.
struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static CONTEXT: Cell<*const Context> = const { Cell::new(std::ptr::null()) };
}

fn with_context<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let ptr = CONTEXT.try_with(|c| c.get()).unwrap_or(std::ptr::null());
    // SAFETY: CONTEXT only ever holds a pointer to a `Context` on this
    // thread's stack, set by `Context::set` and cleared by its guard before
    // that frame returns, so a non-null pointer is live.
    f(unsafe { ptr.as_ref() })
}

impl CurrentThread {
    pub(crate) fn new(
        driver: Driver,
        driver_handle: driver::Handle,
        blocking_spawner: Spawner,
        config: Config,
    ) -> (CurrentThread, Arc<Handle>) {
        let handle = Arc::new(Handle {
            shared: Shared {
                inject: Mutex::new(Some(VecDeque::new())),
                inject_len: AtomicUsize::new(0),
                local_len: AtomicUsize::new(0),
                owned: OwnedTasks::new(1),
                woken: AtomicBool::new(false),
            },
            driver: driver_handle,
            blocking_spawner,
            scheduler_metrics: SchedulerMetrics::default(),
            worker_metrics: WorkerMetrics::default(),
            config,
        });
        let core = Box::new(Core {
            tasks: VecDeque::with_capacity(64),
            tick: 0,
            driver: Some(Box::new(driver)),
            is_shutdown: false,
        });
        (
            CurrentThread {
                core: Mutex::new(Some(core)),
                waiters: Mutex::new(Vec::new()),
            },
            handle,
        )
    }

    /// Runs `future` to completion on this thread, driving all tasks.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, handle: &Arc<Handle>, future: F) -> F::Output {
        let _enter = context::enter_runtime(&scheduler::Handle::CurrentThread(handle.clone()));
        let mut future = pin!(future);
        loop {
            let taken = self.core.lock().take();
            if let Some(core) = taken {
                let cx = Context {
                    handle: handle.clone(),
                    core: RefCell::new(None),
                };
                // Puts the core back even if the future (or anything else)
                // panics while the core sits in `cx`.
                let guard = CoreGuard { ct: self, cx: &cx };
                let (core, out) = context::with_defer(|| run_with_core(&cx, core, future.as_mut()));
                drop(guard);
                self.release_core(core);
                return out;
            }
            // Another thread drives the scheduler: run our future on a
            // parked thread until it completes or the core is released.
            let out = crate::runtime::park::block_on(
                poll_fn(|cx| {
                    if let Poll::Ready(v) = future.as_mut().poll(cx) {
                        return Poll::Ready(Some(v));
                    }
                    register_waiter(&self.waiters, cx.waker());
                    if self.core.lock().is_some() {
                        return Poll::Ready(None);
                    }
                    Poll::Pending
                }),
                None,
            );
            if let Ok(Some(v)) = out {
                return v;
            }
        }
    }

    /// One turn of the loop, libuv's `UV_RUN_ONCE`: runs the tasks that are
    /// ready; if none were, parks in the driver for up to `max_wait` (I/O,
    /// timers or a remote wake end it early) and runs what became ready.
    /// Returns the number of task polls. Returns 0 at once if another thread
    /// is driving the scheduler.
    #[track_caller]
    pub(crate) fn turn(&self, handle: &Arc<Handle>, max_wait: Duration) -> usize {
        let _enter = context::enter_runtime(&scheduler::Handle::CurrentThread(handle.clone()));
        let taken = self.core.lock().take();
        let Some(core) = taken else { return 0 };
        let cx = Context {
            handle: handle.clone(),
            core: RefCell::new(None),
        };
        let _set = cx.set();
        let guard = CoreGuard { ct: self, cx: &cx };
        let (core, polls) = context::with_defer(|| {
            let (core, mut polls) = cx.run_ready(core);
            let core = match core.driver.is_some() {
                true => {
                    let wait = if polls == 0 { max_wait } else { Duration::ZERO };
                    cx.park_for(core, wait)
                }
                false => core,
            };
            let (core, more) = cx.run_ready(core);
            polls += more;
            // Yields still deferred are woken as `with_defer` ends; they
            // run on the next turn.
            (core, polls)
        });
        drop(guard);
        self.release_core(core);
        polls
    }

    fn release_core(&self, core: Box<Core>) {
        *self.core.lock() = Some(core);
        for w in std::mem::take(&mut *self.waiters.lock()) {
            w.wake();
        }
    }

    /// Cancels every task and shuts the driver down; see the module docs.
    ///
    /// With `may_block` false (called from inside a runtime, or while
    /// unwinding) it only proceeds if the core is free right now; otherwise
    /// it waits for the thread in `block_on` to release the core.
    pub(crate) fn shutdown(&self, handle: &Arc<Handle>, may_block: bool) {
        let core = loop {
            let taken = self.core.lock().take();
            if let Some(core) = taken {
                break core;
            }
            if !may_block || std::thread::panicking() {
                return;
            }
            let _ = crate::runtime::park::block_on(
                poll_fn(|cx| {
                    register_waiter(&self.waiters, cx.waker());
                    if self.core.lock().is_some() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }),
                None,
            );
        };
        if core.is_shutdown {
            // Already shut down (e.g. `shutdown_timeout` then `Drop`).
            self.release_core(core);
            return;
        }
        let _current = context::set_current(&scheduler::Handle::CurrentThread(handle.clone()));
        let cx = Context {
            handle: handle.clone(),
            core: RefCell::new(None),
        };
        let _set = cx.set();
        let (mut core, ()) = cx.enter(core, || handle.shared.owned.close_and_shutdown_all(0));
        while let Some(task) = core.tasks.pop_front() {
            drop(task);
        }
        handle.shared.local_len.store(0, Ordering::Relaxed);
        let remote = handle.shared.inject.lock().take();
        drop(remote);
        handle.shared.inject_len.store(0, Ordering::Relaxed);
        if let Some(mut driver) = core.driver.take() {
            let (c, ()) = cx.enter(core, || driver.shutdown(&handle.driver));
            core = c;
            core.driver = Some(driver);
        }
        core.is_shutdown = true;
        self.release_core(core);
    }
}

/// The scheduling loop: alternates between polling `future` (when woken),
/// running queued tasks, and parking in the driver.
fn run_with_core<F: Future>(
    cx: &Context,
    core: Box<Core>,
    mut future: std::pin::Pin<&mut F>,
) -> (Box<Core>, F::Output) {
    let handle = &cx.handle;
    let _set = cx.set();
    let waker = Waker::from(handle.clone());
    let mut task_cx = std::task::Context::from_waker(&waker);
    handle.shared.woken.store(true, Ordering::Release);
    let mut core = core;
    'outer: loop {
        // A plain load first: most turns of an I/O-driven loop find the
        // future not woken, and the swap would lock the cache line each
        // time. A wake after the load also unparks the driver, so the
        // next turn sees it.
        if handle.shared.woken.load(Ordering::Acquire)
            && handle.shared.woken.swap(false, Ordering::AcqRel)
        {
            let (c, res) = cx.enter(core, || coop::budget(|| future.as_mut().poll(&mut task_cx)));
            core = c;
            if let Poll::Ready(v) = res {
                return (core, v);
            }
        }
        for _ in 0..handle.config.event_interval {
            core.tick = core.tick.wrapping_add(1);
            let Some(task) = core.next_task(handle) else {
                core = if handle.shared.woken.load(Ordering::Acquire) || context::has_deferred() {
                    cx.park_yield(core)
                } else {
                    cx.park(core)
                };
                continue 'outer;
            };
            WorkerMetrics::bump(&handle.worker_metrics.polls);
            let (c, ()) = cx.enter(core, || coop::budget(|| task.run()));
            core = c;
        }
        core = cx.park_yield(core);
    }
}

impl Core {
    fn next_task(&mut self, handle: &Handle) -> Option<Notified<Arc<Handle>>> {
        let t = if self.tick % handle.config.global_queue_interval == 0 {
            handle.pop_inject().or_else(|| self.tasks.pop_front())
        } else {
            self.tasks.pop_front().or_else(|| handle.pop_inject())
        };
        handle
            .shared
            .local_len
            .store(self.tasks.len(), Ordering::Relaxed);
        t
    }
}

/// Adds `waker` to the list of threads waiting for the core, unless an
/// equivalent waker is already there (a waiter polled often must not grow
/// the list).
fn register_waiter(waiters: &Mutex<Vec<Waker>>, waker: &Waker) {
    let mut w = waiters.lock();
    if !w.iter().any(|x| x.will_wake(waker)) {
        w.push(waker.clone());
    }
}

/// Returns the core to `CurrentThread` if a panic unwinds while the core
/// is stored in the context.
struct CoreGuard<'a> {
    ct: &'a CurrentThread,
    cx: &'a Context,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        let core = self.cx.core.borrow_mut().take();
        if let Some(core) = core {
            self.ct.release_core(core);
        }
    }
}

/// Clears `CONTEXT` on drop.
struct ResetContext(*const Context);

impl Drop for ResetContext {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = CONTEXT.try_with(|c| c.set(prev));
    }
}

impl Context {
    fn set(&self) -> ResetContext {
        ResetContext(CONTEXT.with(|c| c.replace(self as *const Context)))
    }

    /// Runs `f` with the core stored in the context (so wakes on this
    /// thread reach the local queue), then takes it back.
    fn enter<R>(&self, core: Box<Core>, f: impl FnOnce() -> R) -> (Box<Core>, R) {
        *self.core.borrow_mut() = Some(core);
        let r = f();
        let core = self
            .core
            .borrow_mut()
            .take()
            .expect("scheduler core missing after running a task");
        (core, r)
    }

    /// Runs queued tasks until the queues are empty (bounded, so a task
    /// that keeps re-waking itself cannot trap the caller).
    fn run_ready(&self, mut core: Box<Core>) -> (Box<Core>, usize) {
        let handle = &self.handle;
        let limit = handle.config.event_interval as usize * 16;
        let mut polls = 0;
        while polls < limit {
            core.tick = core.tick.wrapping_add(1);
            let Some(task) = core.next_task(handle) else {
                break;
            };
            WorkerMetrics::bump(&handle.worker_metrics.polls);
            let (c, ()) = self.enter(core, || coop::budget(|| task.run()));
            core = c;
            polls += 1;
        }
        (core, polls)
    }

    /// Runs `f` on the driver, taken out of `core` while `core` sits in the
    /// context (as for a task poll), and puts the driver back however `f`
    /// ends. A (foreign) waker that panics while the driver fires it must
    /// not leave the scheduler without its driver: every later park would
    /// return at once, and no timer or I/O event would be seen again.
    fn with_driver(&self, mut core: Box<Core>, f: impl FnOnce(&mut Driver)) -> Box<Core> {
        let Some(driver) = core.driver.take() else {
            return core;
        };
        /// Holds the driver; dropped with it still inside only by an
        /// unwind out of `f`, when the core is in the context (`enter`
        /// leaves it there), which is where it goes back.
        struct Home<'a> {
            cx: &'a Context,
            driver: Option<Box<Driver>>,
        }
        impl Drop for Home<'_> {
            fn drop(&mut self) {
                if let Some(d) = self.driver.take() {
                    if let Some(core) = self.cx.core.borrow_mut().as_mut() {
                        core.driver = Some(d);
                    }
                }
            }
        }
        let mut home = Home {
            cx: self,
            driver: Some(driver),
        };
        let (mut core, ()) = self.enter(core, || {
            f(home
                .driver
                .as_mut()
                .expect("the driver is home until `f` returns"))
        });
        core.driver = home.driver.take();
        core
    }

    /// Parks in the driver for at most `wait`.
    fn park_for(&self, core: Box<Core>, wait: Duration) -> Box<Core> {
        if !wait.is_zero() && core.driver.is_some() {
            WorkerMetrics::bump(&self.handle.worker_metrics.parks);
        }
        let handle = &self.handle;
        self.with_driver(core, |driver| {
            driver.park_timeout(&handle.driver, wait);
            context::wake_deferred();
        })
    }

    /// Parks in the driver until woken (or, with local tasks queued, just
    /// polls it). Called only with no yield deferred (see `run_with_core`).
    fn park(&self, core: Box<Core>) -> Box<Core> {
        if core.driver.is_some() {
            WorkerMetrics::bump(&self.handle.worker_metrics.parks);
        }
        let handle = &self.handle;
        self.with_driver(core, |driver| {
            if handle.shared.local_len.load(Ordering::Relaxed) == 0 {
                driver.park(&handle.driver)
            } else {
                driver.park_timeout(&handle.driver, Duration::ZERO)
            }
            // No `wake_deferred` here: the caller parks only with nothing
            // deferred, and the park polls no task. A yield deferred by
            // code the driver ran (an event hook running an executor of
            // its own) is seen by the loop's next `has_deferred` check,
            // which then takes `park_yield`.
        })
    }

    fn park_yield(&self, core: Box<Core>) -> Box<Core> {
        let handle = &self.handle;
        self.with_driver(core, |driver| {
            driver.park_timeout(&handle.driver, Duration::ZERO);
            context::wake_deferred();
        })
    }
}

impl Handle {
    pub(crate) fn spawn<F>(me: &Arc<Handle>, future: F, id: Id) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = me.shared.owned.bind(future, me.clone(), id);
        me.scheduler_metrics.inc_spawned();
        if let Some(n) = notified {
            me.schedule(n);
        }
        join
    }

    fn pop_inject(&self) -> Option<Notified<Arc<Handle>>> {
        if self.shared.inject_len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut g = self.shared.inject.lock();
        let q = g.as_mut()?;
        let t = q.pop_front();
        self.shared.inject_len.store(q.len(), Ordering::Release);
        t
    }

    pub(crate) fn num_alive_tasks(&self) -> usize {
        self.shared.owned.len()
    }

    pub(crate) fn injection_queue_depth(&self) -> usize {
        self.shared.inject_len.load(Ordering::Relaxed)
    }

    pub(crate) fn local_queue_depth(&self) -> usize {
        self.shared.local_len.load(Ordering::Relaxed)
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.shared.owned.remove(task)
    }

    fn schedule(&self, task: Notified<Self>) {
        with_context(|cx| {
            if let Some(cx) = cx.filter(|cx| Arc::ptr_eq(self, &cx.handle)) {
                let mut core = cx.core.borrow_mut();
                if let Some(core) = core.as_mut() {
                    core.tasks.push_back(task);
                    self.shared
                        .local_len
                        .store(core.tasks.len(), Ordering::Relaxed);
                    WorkerMetrics::bump(&self.worker_metrics.local_schedule);
                    return;
                }
                // No core in context (between turns, or shutting down):
                // fall through to the inject queue, which shutdown closes.
            }
            let mut g = self.shared.inject.lock();
            match g.as_mut() {
                Some(q) => {
                    q.push_back(task);
                    self.shared.inject_len.store(q.len(), Ordering::Release);
                    drop(g);
                    self.scheduler_metrics.inc_remote_schedule();
                    self.driver.unpark();
                }
                None => {
                    drop(g);
                    drop(task);
                }
            }
        })
    }
}

/// The `block_on` future's waker: flags it and unparks the driver.
impl Wake for Handle {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.store(true, Ordering::Release);
        self.driver.unpark();
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("current_thread::Handle")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CurrentThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentThread").finish_non_exhaustive()
    }
}
