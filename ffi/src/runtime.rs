//! `rt_runtime`: creating, configuring, driving and shutting down a runtime.
//!
//! # Ownership
//! `rt_runtime *` is a `Box<rt_runtime>` owned by the C caller until
//! `rt_runtime_free`. The box holds an `Arc<Shared>`; every object created
//! from the runtime (tasks, timers, watches, queues, sleeps, fds) holds a
//! clone, so they stay valid (and report `RT_ERR_SHUTDOWN`) after the
//! runtime is shut down or freed.
//!
//! # Shutdown protocol
//! 1. `shut` is set (every entry point checks it first and fails with
//!    `RT_ERR_SHUTDOWN`), and a running `rt_runtime_run` is asked to stop.
//! 2. The `Runtime` is taken out of its mutex (waiting for the `run` caller,
//!    if any, to return) and shut down: core drops every pending task's
//!    future, and our futures' destructors call each pending
//!    `drop_arg`/`drop_state` exactly once.
//! 3. Every argument the runtime owns is counted (`callback::Live`):
//!    shutdown then waits, within its timeout, until the count is zero, so
//!    when it returns `RT_OK` every `drop_arg` has run, including those of
//!    callbacks that were running on other threads.
//! 4. Callbacks can no longer start; later calls see `shut`.
//!
//! The configuration (`rt_config`) is read in `config.rs`; driving a
//! current-thread runtime (`rt_runtime_run`, `_run_once`, `_stop`) is in
//! `drive.rs`.
use crate::callback::in_runtime_callback;
use crate::error::{self, non_null, rt_status, Error, Result};
use crate::task::TaskShared;
use runtime_core::runtime::{Handle, Runtime, RuntimeFlavor};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;
use std::time::Duration;

mod config;
mod drive;

pub use config::rt_config;
pub use drive::{rt_runtime_run, rt_runtime_run_once, rt_runtime_stop};

/// Multi-thread, work-stealing flavor (the default).
pub const RT_FLAVOR_MULTI_THREAD: u32 = 0;
/// Current-thread flavor: tasks run only inside rt_runtime_run /
/// rt_runtime_run_once on the calling thread.
pub const RT_FLAVOR_CURRENT_THREAD: u32 = 1;

/// Waits forever (for timeouts given in milliseconds).
pub const RT_FOREVER: u64 = u64::MAX;

/// A snapshot of runtime counters (rt_runtime_metrics).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
#[allow(non_camel_case_types)]
pub struct rt_metrics {
    /// Worker threads (1 for the current-thread flavor).
    pub num_workers: u64,
    /// Tasks currently alive (spawned and not yet dropped).
    pub num_alive_tasks: u64,
    /// Tasks spawned since start.
    pub spawned_tasks_count: u64,
    /// Task polls since start, all workers.
    pub total_polls: u64,
    /// Tasks stolen between workers since start.
    pub total_steals: u64,
    /// Times a worker parked since start.
    pub total_parks: u64,
    /// Tasks scheduled from outside the runtime since start.
    pub remote_schedule_count: u64,
    /// Tasks waiting in the global injection queue now.
    pub injection_queue_depth: u64,
    /// Blocking-pool threads now.
    pub num_blocking_threads: u64,
    /// Idle blocking-pool threads now.
    pub num_idle_blocking_threads: u64,
    /// Blocking tasks waiting for a thread now.
    pub blocking_queue_depth: u64,
    /// Zero; future counters.
    pub reserved: [u64; 8],
}

/// An opaque runtime. Created by rt_runtime_new, owned by the caller,
/// released by rt_runtime_free. Safe to use from any thread.
#[allow(non_camel_case_types)]
pub struct rt_runtime {
    pub(crate) shared: Arc<Shared>,
}

/// What every object made from a runtime shares with it.
pub(crate) struct Shared {
    pub(crate) handle: Handle,
    flavor: RuntimeFlavor,
    /// Set once, at the start of shutdown.
    shut: AtomicBool,
    /// The runtime itself; `None` once shut down. Held by `rt_runtime_run`.
    rt: Mutex<Option<Runtime>>,
    stop: Mutex<StopState>,
    /// Notified when a thread stops driving the current-thread runtime
    /// (`StopState::driving` cleared), for a shutdown waiting on it.
    undriven: Condvar,
    /// Fds with a live watch or registration, and its claim id (so a
    /// stale claim never releases a newer one of the same fd number).
    fds: Mutex<(u64, std::collections::HashMap<i32, u64>)>,
    /// Arguments (`drop_arg`/`drop_state`) not yet released.
    pub(crate) live: Arc<crate::callback::Live>,
    /// fd callbacks run from the reactor's event hook (`fd_level.rs`),
    /// which no task poll counts; written and read only by the thread that
    /// turns the current-thread runtime.
    pub(crate) inline_calls: std::sync::atomic::AtomicU64,
    /// Join slots of finished `rt_spawn_blocking` jobs, for the next thread
    /// that spawns one to drop (see [`Shared::retire`]). Emptied by
    /// shutdown; a slot retired after shutdown began is dropped at once.
    retired: Mutex<Vec<Arc<TaskShared>>>,
}

/// Most retired slots kept for spawning threads; past it, a pool thread
/// drops its slot itself.
const RETIRED_CAP: usize = 256;

/// The current-thread loop's stop request, and who drives it.
///
/// Shutdown protocol with a driving thread (rt_runtime_run / run_once on
/// thread B, shutdown on thread A): A sets `shut` under this lock, wakes B
/// and waits (up to its deadline, and at least `DRIVER_GRACE`) until B no
/// longer drives; then A shuts the runtime down itself, as with no driver.
/// Only if A gives up while B still drives (B is in a long callback) does
/// it set `hand_over`: B, leaving, then shuts the runtime down itself
/// within A's deadline (with `dropping` set until it is done), so that a
/// timed-out shutdown never leaves it behind. A driver starts only if
/// `shut` is clear, read under this lock, so none starts once a shutdown
/// began.
#[derive(Default)]
struct StopState {
    requested: bool,
    waker: Option<Waker>,
    /// A thread is inside rt_runtime_run / rt_runtime_run_once.
    driving: bool,
    /// A shutdown asked the driving thread to drop the runtime on leaving.
    hand_over: bool,
    /// That shutdown's deadline (`None`: no limit), which bounds the
    /// driving thread's wait for blocking work as it would have the
    /// shutdown's own.
    hand_over_deadline: Option<std::time::Instant>,
    /// The driving thread is dropping the runtime (hand-over).
    dropping: bool,
}

impl Shared {
    /// Whether this is a current-thread runtime (tasks run only on the
    /// thread inside rt_runtime_run / rt_runtime_run_once).
    pub(crate) fn is_current_thread(&self) -> bool {
        self.flavor == RuntimeFlavor::CurrentThread
    }

    /// Fails with `RT_ERR_SHUTDOWN` once shutdown has begun.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_shut() {
            Err(Error::shutdown())
        } else {
            Ok(())
        }
    }
    pub(crate) fn is_shut(&self) -> bool {
        self.shut.load(Ordering::Acquire)
    }

    /// Takes a finished blocking job's slot from the pool thread that ran
    /// it, for a spawning thread to drop ([`Shared::reclaim_retired`]).
    ///
    /// Why: the spawning thread allocated the slot; freed by a pool thread
    /// it goes back to glibc through the allocating arena's lock, which
    /// the spawning thread takes for its next allocation, so a stream of
    /// short jobs contends on that lock twice per job. Dropped by a
    /// spawning thread, the memory goes to that thread's own cache and is
    /// reused by its next spawn (benches `c_pool_work`).
    ///
    /// `shut` is checked under the queue's lock, which shutdown takes (in
    /// `take_retired`) after setting `shut`: either this sees `shut` and
    /// drops the slot itself, or shutdown's take finds it. None stays
    /// queued after shutdown (a slot holds the runtime, so one left behind
    /// would keep the runtime's memory and fds alive). After the unlock
    /// this never touches `self` again: shutdown may take the slot at once
    /// and drop the runtime's last reference with it.
    pub(crate) fn retire(&self, slot: Arc<TaskShared>) {
        let mut g = self.retired.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_shut() || g.len() >= RETIRED_CAP {
            drop(g);
            return drop(slot);
        }
        g.push(slot);
    }

    /// Every retired slot.
    fn take_retired(&self) -> Vec<Arc<TaskShared>> {
        std::mem::take(&mut *self.retired.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Called by each `rt_spawn_blocking` before it allocates a slot: frees
    /// finished jobs' slots here, on a spawning thread, where they were
    /// allocated (see [`Shared::retire`]), in batches: every 8th call on a
    /// thread frees all of them (at most `RETIRED_CAP`). The caller holds
    /// its own reference (a slot dropped here may be the last one besides
    /// it).
    pub(crate) fn reclaim_retired(&self) {
        thread_local!(static SPAWNS: std::cell::Cell<u8> = const { std::cell::Cell::new(0) });
        let due = SPAWNS.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n % 8 == 0
        });
        if due {
            drop(self.take_retired());
        }
    }

    /// Claims `fd` for one watch or registration; fails if it has one.
    pub(crate) fn claim_fd(&self, fd: i32) -> Result<u64> {
        let mut g = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        let id = g.0;
        match g.1.entry(fd) {
            std::collections::hash_map::Entry::Occupied(_) => Err(Error::invalid(format!(
                "fd {fd} is already watched or registered on this runtime"
            ))),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
                Ok(id)
            }
        }
    }

    /// Releases claim `id` on `fd` (no-op if it was already released).
    pub(crate) fn release_fd(&self, fd: i32, id: u64) {
        let mut g = self.fds.lock().unwrap_or_else(|e| e.into_inner());
        if g.1.get(&fd) == Some(&id) {
            g.1.remove(&fd);
        }
    }

    fn request_stop(&self) {
        let waker = {
            let mut s = self.stop.lock().unwrap_or_else(|e| e.into_inner());
            s.requested = true;
            s.waker.take()
        };
        match waker {
            Some(w) => w.wake(),
            // Nobody is inside `rt_runtime_run`: a no-op task interrupts a
            // `rt_runtime_run_once` that is parked in the driver.
            None if self.flavor == RuntimeFlavor::CurrentThread && !self.is_shut() => {
                drop(self.handle.spawn(async {}))
            }
            None => {}
        }
    }

    /// Consumes a pending stop request.
    fn take_stop(&self) -> bool {
        std::mem::take(
            &mut self
                .stop
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .requested,
        )
    }

    /// Shuts down (idempotent), then waits until every argument the runtime
    /// owned has been released. `timeout` bounds the whole wait (`None`:
    /// no limit); returns how many arguments are still owned (by callbacks
    /// still running when it expired).
    fn shutdown(&self, timeout: Option<Duration>) -> usize {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let (waker, driven) = {
            let mut s = self.stop.lock().unwrap_or_else(|e| e.into_inner());
            // Before `take_retired` below locks the queue (see `retire`),
            // and under the stop lock (see `StopState`).
            self.shut.store(true, Ordering::Release);
            s.requested = true;
            (s.waker.take(), s.driving || s.dropping)
        };
        match waker {
            Some(w) => w.wake(),
            // A no-op task interrupts an rt_runtime_run_once parked in the
            // driver.
            None if self.flavor == RuntimeFlavor::CurrentThread => {
                drop(self.handle.spawn(async {}))
            }
            None => {}
        }
        let mut left = 0;
        // A thread driving the runtime (current-thread flavor) holds it
        // until its pass ends: wait for that (see `wait_undriven`). Only if
        // that wait gives up does the driving thread shut the runtime down
        // itself as it leaves; otherwise this thread does, as always.
        let handed_over = driven && !self.wait_undriven(deadline);
        if handed_over {
            left += 1;
        } else {
            let rt = self.rt.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(rt) = rt {
                shut_down_until(rt, deadline);
            }
        }
        left += self.live.wait_released(deadline);
        // rt_queue_work items are not counted in `live`: they are over
        // when the blocking pool has nothing queued, running or cancelling.
        let remaining = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        if !self.handle.wait_blocking_idle(remaining) {
            left += 1;
        }
        drop(self.take_retired());
        left
    }

    /// Waits until no thread drives the runtime and no hand-over drop is in
    /// progress, up to `deadline` but at least [`DRIVER_GRACE`] (the
    /// moment an idle driver needs to notice the stop: a short timeout
    /// only gives up on a driver busy in a callback). If it gives up while
    /// a thread still drives, it hands the runtime over to that thread
    /// (which shuts it down as it leaves, within `deadline`) and returns
    /// `false`; `false` too if a previous hand-over is still dropping.
    fn wait_undriven(&self, deadline: Option<std::time::Instant>) -> bool {
        let until = deadline.map(|d| d.max(std::time::Instant::now() + DRIVER_GRACE));
        let mut s = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        while s.driving || s.dropping {
            s = match until {
                None => self.undriven.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(u) => {
                    let left = u.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        if s.driving {
                            s.hand_over = true;
                            s.hand_over_deadline = deadline;
                        }
                        return false;
                    }
                    self.undriven
                        .wait_timeout(s, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        true
    }
}

/// Shuts `rt` down, waiting for its running blocking work until
/// `deadline` (`None`: as long as it takes).
fn shut_down_until(rt: Runtime, deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => rt.shutdown_timeout(d.saturating_duration_since(std::time::Instant::now())),
        None => drop(rt),
    }
}

/// How long a shutdown waits for a thread driving the runtime to notice it,
/// whatever its timeout (see `Shared::wait_undriven`).
const DRIVER_GRACE: Duration = Duration::from_millis(20);

/// Writes the defaults into `*cfg`: multi-thread flavor, one worker per
/// CPU, default blocking pool, reserved fields zero. NULL is ignored.
///
/// # Safety
/// `cfg` must be NULL or point to writable memory for an rt_config.
#[no_mangle]
pub unsafe extern "C" fn rt_config_init(cfg: *mut rt_config) {
    if cfg.is_null() {
        return;
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { cfg.write(config::DEFAULTS) };
}

/// Creates a runtime and stores it in `*out`.
///
/// `cfg` may be NULL (defaults); it is only read during the call. On
/// success the caller owns `*out` and must release it with
/// rt_runtime_free. A multi-thread runtime starts its workers now; a
/// current-thread runtime runs nothing until rt_runtime_run /
/// rt_runtime_run_once is called.
///
/// A runtime belongs to the process that created it. In a child made by
/// fork() (which shares its epoll instance, not its memory or threads)
/// fd watches and registrations fail, running it fails, and a watch that
/// ends there leaves the parent's registration alone: create a new
/// runtime in the child (this works even if the parent's runtime threads
/// were busy at the fork: the runtime's locks keep no process-wide
/// state). Never close a descriptor the runtime owns (its duplicates of
/// watched fds): a double close() that hits one is undefined behaviour,
/// as for any library's descriptors.
///
/// Errors: RT_ERR_NULL (`out`), RT_ERR_INVALID (unknown flavor, nonzero
/// reserved fields, worker_threads above 16384, thread name not UTF-8),
/// RT_ERR_IO (threads or the
/// reactor could not be created). `*out` is untouched on failure.
///
/// # Safety
/// `cfg` must be NULL or a valid rt_config; `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_new(
    cfg: *const rt_config,
    out: *mut *mut rt_runtime,
) -> rt_status {
    error::status("rt_runtime_new", || {
        if out.is_null() {
            return Err(Error::null("out"));
        }
        // SAFETY: NULL or a valid rt_config per the contract.
        let (mut b, flavor) = unsafe { config::builder(cfg) }?;
        let rt = b
            .build()
            .map_err(|e| Error::io("building the runtime", e))?;
        let shared = Arc::new(Shared {
            handle: rt.handle().clone(),
            flavor,
            shut: AtomicBool::new(false),
            rt: Mutex::new(Some(rt)),
            stop: Mutex::new(StopState::default()),
            undriven: Condvar::new(),
            fds: Mutex::new((0, std::collections::HashMap::new())),
            live: Arc::default(),
            inline_calls: std::sync::atomic::AtomicU64::new(0),
            retired: Mutex::new(Vec::new()),
        });
        let boxed = Box::into_raw(Box::new(rt_runtime { shared }));
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { out.write(boxed) };
        Ok(())
    })
}

/// Shuts the runtime down; idempotent.
///
/// No new work is accepted (every later call on this runtime or anything
/// made from it returns RT_ERR_SHUTDOWN); every task, timer, watch and
/// queued callback that has not run is cancelled, and every pending
/// `drop_arg`/`drop_state` is called exactly once (on this thread or a
/// runtime thread) before this returns RT_OK.
///
/// `timeout_ms` bounds the wait for callbacks, rt_spawn_blocking bodies
/// and rt_queue_work items that are running at the time (RT_FOREVER: no
/// limit; 0: don't wait). If it expires first, the runtime is still shut
/// down, but this returns RT_ERR_TIMEOUT: the remaining `drop_arg`s and
/// `done`s run when those callbacks finish, and calling
/// rt_runtime_shutdown again waits for them.
///
/// A current-thread runtime that another thread is driving
/// (rt_runtime_run, or rt_runtime_run_once however long its wait) is woken,
/// its pass ends (that call returns RT_ERR_SHUTDOWN), and the shutdown
/// goes on here. The wait for that pass to end is bounded by `timeout_ms`,
/// but is at least 20 ms, so an idle loop always gets to leave; if the
/// pass is still inside a callback then, this returns RT_ERR_TIMEOUT and
/// the driving thread shuts the runtime down as it leaves.
///
/// Errors: RT_ERR_NULL; RT_ERR_TIMEOUT (see above); RT_ERR_WOULD_DEADLOCK
/// when called from inside one of this library's callbacks on a runtime
/// thread, or from inside this runtime's own blocking work (an
/// rt_spawn_blocking body, an rt_queue_work item): use rt_runtime_stop, or
/// shut down from another thread.
///
/// # Safety
/// `rt` must be NULL or a live runtime from rt_runtime_new.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_shutdown(rt: *mut rt_runtime, timeout_ms: u64) -> rt_status {
    error::status("rt_runtime_shutdown", || {
        // An own reference (see `shared_of`): a `drop_arg` this shutdown
        // runs may free the runtime (rt_runtime_free) before it returns.
        // SAFETY: NULL or live per the contract.
        let shared = unsafe { shared_of(rt) }?;
        if in_runtime_callback() {
            return Err(Error::new(
                rt_status::RT_ERR_WOULD_DEADLOCK,
                "cannot shut a runtime down from inside one of its callbacks",
            ));
        }
        if shared.handle.is_in_blocking_work() {
            // The shutdown waits for the runtime's blocking work, this
            // body included.
            return Err(Error::new(
                rt_status::RT_ERR_WOULD_DEADLOCK,
                "cannot shut a runtime down from inside its own blocking work \
                 (rt_spawn_blocking body, rt_queue_work item); do it from another thread",
            ));
        }
        let t = if timeout_ms == RT_FOREVER {
            None
        } else {
            Some(Duration::from_millis(timeout_ms))
        };
        match shared.shutdown(t) {
            0 => Ok(()),
            n => Err(Error::new(
                rt_status::RT_ERR_TIMEOUT,
                format!(
                    "shut down, but {n} argument(s) or rt_queue_work item(s) are still held \
                     by callbacks that were running when {timeout_ms} ms expired; their \
                     drop_arg / done runs when they finish (call again to wait longer)"
                ),
            )),
        }
    })
}

/// Shuts the runtime down if needed (as rt_runtime_shutdown with
/// RT_FOREVER: waits for running callbacks, blocking bodies and work
/// items, and for every pending `drop_arg` and `done`) and frees it. NULL is ignored. Objects made from the runtime stay valid
/// and must still be freed; they report RT_ERR_SHUTDOWN.
///
/// Called from inside one of the runtime's own callbacks or blocking work,
/// the shutdown is handed to a helper thread instead of deadlocking.
///
/// # Safety
/// `rt` must be NULL or a live runtime; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_free(rt: *mut rt_runtime) {
    if rt.is_null() {
        return;
    }
    // SAFETY: a live pointer from Box::into_raw per the contract; ownership
    // returns to us here.
    let rt = unsafe { Box::from_raw(rt) };
    error::quiet("rt_runtime_free", move || {
        if in_runtime_callback() || rt.shared.handle.is_in_blocking_work() {
            let shared = rt.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("runtime-shutdown".into())
                .spawn(move || {
                    shared.shutdown(None);
                });
            if let Err(e) = spawned {
                // Shutting down here would wait for this very callback;
                // the runtime is at least marked shut down (new work is
                // refused) and its threads go idle.
                rt.shared.shut.store(true, Ordering::Release);
                eprintln!(
                    "runtime: rt_runtime_free could not start its shutdown thread ({e}); \
                     the runtime is left shut down but not freed"
                );
            }
        } else {
            rt.shared.shutdown(None);
        }
    });
}

/// Fills `*out` with a snapshot of the runtime's counters.
///
/// Errors: RT_ERR_NULL, RT_ERR_SHUTDOWN.
///
/// # Safety
/// `rt` must be NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rt_runtime_metrics(
    rt: *mut rt_runtime,
    out: *mut rt_metrics,
) -> rt_status {
    error::status("rt_runtime_metrics", || {
        // SAFETY: NULL or live per the contract.
        let rt = unsafe { non_null(rt, "rt") }?;
        if out.is_null() {
            return Err(Error::null("out"));
        }
        rt.shared.check_open()?;
        let m = rt.shared.handle.metrics();
        let workers = m.num_workers();
        let mut s = rt_metrics {
            num_workers: workers as u64,
            num_alive_tasks: m.num_alive_tasks() as u64,
            spawned_tasks_count: m.spawned_tasks_count(),
            total_polls: m.total_polls(),
            total_steals: m.total_steals(),
            total_parks: m.total_parks(),
            remote_schedule_count: m.remote_schedule_count(),
            injection_queue_depth: m.injection_queue_depth() as u64,
            num_blocking_threads: m.num_blocking_threads() as u64,
            num_idle_blocking_threads: m.num_idle_blocking_threads() as u64,
            blocking_queue_depth: m.blocking_queue_depth() as u64,
            reserved: [0; 8],
        };
        s.num_workers = s.num_workers.max(1);
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(s) };
        Ok(())
    })
}

/// The runtime's shared state, as an `Arc` of the caller's own. Calls that
/// start callbacks (spawns, timers, fd watches, run loops) take it first and
/// never touch `*rt` afterwards: a callback may free the runtime
/// (rt_runtime_free from a callback is allowed) before the call returns;
/// ThreadSanitizer found `rt_spawn` doing so (tests/c/test_task.c,
/// `test_free_from_own_callback`).
///
/// # Safety
/// `rt` NULL or live.
pub(crate) unsafe fn shared_of(rt: *mut rt_runtime) -> Result<Arc<Shared>> {
    // SAFETY: NULL or live per the caller's contract; read only here.
    Ok(unsafe { non_null(rt, "rt") }?.shared.clone())
}
