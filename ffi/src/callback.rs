//! Calling into C: the owned-argument guard that guarantees `drop_arg` runs
//! exactly once, and the per-thread marker that tells a blocking call it is
//! running on a runtime thread (inside one of our callbacks).
//!
//! # Invariants
//! - An [`Arg`] calls its `drop_arg` exactly once: when the guard is dropped,
//!   whether the callback ran, was cancelled, or the runtime shut down.
//! - Every C callback that runs on a runtime thread (task bodies, C futures'
//!   poll, timer/watch/queue callbacks, completion notifications) runs inside
//!   [`on_runtime_thread`], so blocking calls made from it fail with
//!   `RT_ERR_WOULD_DEADLOCK` instead of stalling a worker. Blocking-pool
//!   bodies (`rt_spawn_blocking`) are deliberately not marked.
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// A destructor for a C-owned pointer.
#[allow(non_camel_case_types)]
pub type rt_drop_fn = Option<unsafe extern "C" fn(ptr: *mut c_void)>;

/// A C pointer made sendable. The C contract of every entry point that takes
/// one says the pointee may be used from any thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut c_void);
// SAFETY: the documented C contract: pointers handed to the runtime may be
// used (passed to callbacks, dropped) on any runtime thread.
unsafe impl Send for SendPtr {}
// SAFETY: as above; the runtime never dereferences these pointers itself.
unsafe impl Sync for SendPtr {}

/// An argument owned by the runtime until it is dropped: dropping calls
/// `drop_arg(arg)` exactly once (if `drop_arg` is not NULL).
#[derive(Debug)]
pub(crate) struct Arg {
    ptr: SendPtr,
    drop_fn: rt_drop_fn,
    /// The runtime's count of unreleased arguments, if it belongs to one.
    live: Option<Arc<Live>>,
}

impl Arg {
    /// An argument not counted on its own: a waker's data (it belongs to
    /// no runtime), or a task's argument, counted by the task's completer
    /// (see `task::FnTask`).
    pub(crate) fn new(ptr: *mut c_void, drop_fn: rt_drop_fn) -> Arg {
        Arg {
            ptr: SendPtr(ptr),
            drop_fn,
            live: None,
        }
    }
    /// An argument owned by a runtime: counted in `live` until released,
    /// so shutdown can wait for every `drop_arg`.
    pub(crate) fn owned_by(ptr: *mut c_void, drop_fn: rt_drop_fn, live: &Arc<Live>) -> Arg {
        live.inc();
        Arg {
            ptr: SendPtr(ptr),
            drop_fn,
            live: Some(live.clone()),
        }
    }
    pub(crate) fn get(&self) -> *mut c_void {
        self.ptr.0
    }
}

impl Drop for Arg {
    fn drop(&mut self) {
        if let Some(f) = self.drop_fn.take() {
            // SAFETY: the C caller promised `drop_fn(arg)` is valid to call once
            // from any thread after the runtime is done with `arg`; `take`
            // ensures once.
            on_runtime_thread(|| unsafe { f(self.ptr.0) });
        }
        if let Some(live) = self.live.take() {
            live.dec();
        }
    }
}

/// How many arguments a runtime still owns (not yet released with their
/// `drop_arg`); shutdown waits for it to reach zero.
///
/// The count is an atomic so that creating and releasing arguments (once
/// per task, timer, watch...) takes no lock; the mutex and condvar are only
/// for a waiting shutdown. No lost wake-up: a waiter registers in
/// `waiters` (SeqCst) before reading `n`, and a releaser reads `waiters`
/// (SeqCst) after its decrement, so one of them sees the other; the
/// releaser then takes the mutex before notifying, which it can only get
/// once the waiter sleeps on the condvar.
#[derive(Debug, Default)]
pub(crate) struct Live {
    n: AtomicUsize,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    zero: Condvar,
}

impl Live {
    pub(crate) fn inc(&self) {
        self.n.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn dec(&self) {
        if self.n.fetch_sub(1, Ordering::SeqCst) == 1 && self.waiters.load(Ordering::SeqCst) > 0 {
            drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            self.zero.notify_all();
        }
    }
    /// Waits until every argument is released or `deadline` passes
    /// (`None`: no limit); returns how many are still owned.
    pub(crate) fn wait_released(&self, deadline: Option<std::time::Instant>) -> usize {
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_add(1, Ordering::SeqCst);
        loop {
            let n = self.n.load(Ordering::SeqCst);
            if n == 0 {
                break;
            }
            g = match deadline {
                None => self.zero.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        break;
                    }
                    self.zero
                        .wait_timeout(g, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(g);
        self.n.load(Ordering::SeqCst)
    }
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// A number that identifies the calling thread among live threads (the
/// address of its `DEPTH`; a thread that exits may pass it on to a later
/// one, so compare only tokens of threads known to be alive). Cheaper than
/// `thread::current().id()`, which clones the thread's handle.
pub(crate) fn thread_token() -> usize {
    DEPTH.with(|d| d as *const Cell<u32> as usize)
}

/// Runs `f` (a call into C) marked as "on a runtime thread".
pub(crate) fn on_runtime_thread<R>(f: impl FnOnce() -> R) -> R {
    on_runtime_thread_as(|_| f())
}

/// As [`on_runtime_thread`], passing `f` the calling thread's
/// [`thread_token`] (found by the same thread-local access).
pub(crate) fn on_runtime_thread_as<R>(f: impl FnOnce(usize) -> R) -> R {
    /// Points at this thread's `DEPTH` (null if it was unreachable).
    struct Restore(*const Cell<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: `DEPTH` is a const-initialized `Cell` without drop
            // glue, so its storage lives as long as its thread; this guard
            // is a local of the same thread's stack frame (it is `!Send`
            // through the raw pointer), so the pointer is valid here.
            if let Some(d) = unsafe { self.0.as_ref() } {
                d.set(d.get() - 1);
            }
        }
    }
    let d = DEPTH
        .try_with(|d| {
            d.set(d.get() + 1);
            d as *const Cell<u32>
        })
        .unwrap_or(std::ptr::null());
    let _restore = Restore(d);
    f(d as usize)
}

/// Runs `f` (a blocking-pool body) with the marker cleared: blocking there is
/// allowed.
pub(crate) fn off_runtime_thread<R>(f: impl FnOnce() -> R) -> R {
    let saved = DEPTH.try_with(|d| d.replace(0)).unwrap_or(0);
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DEPTH.try_with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(saved);
    f()
}

/// Whether this thread is inside one of our callbacks on a runtime thread.
pub(crate) fn in_runtime_callback() -> bool {
    DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

/// Fails with `RT_ERR_WOULD_DEADLOCK` when blocking here could stall the
/// runtime.
pub(crate) fn check_may_block(what: &str) -> crate::error::Result<()> {
    if in_runtime_callback() || runtime_core::runtime::is_driving() {
        return Err(crate::error::Error::new(
            crate::error::rt_status::RT_ERR_WOULD_DEADLOCK,
            format!(
                "{what} would block a runtime thread (called from inside a task or callback); \
                 poll it with a waker instead, or call it from rt_spawn_blocking"
            ),
        ));
    }
    Ok(())
}

/// Converts a millisecond timeout to a deadline; `None` means forever
/// (`RT_FOREVER`, or a value too large to represent).
pub(crate) fn deadline(timeout_ms: u64) -> Option<std::time::Instant> {
    if timeout_ms == u64::MAX {
        return None;
    }
    std::time::Instant::now().checked_add(std::time::Duration::from_millis(timeout_ms))
}

/// One wait of a blocking join/completion loop: `None` once `until` has
/// passed (the caller reports its timeout), else sleeps on `cond` until
/// notified, woken spuriously or `until`, and hands the guard back. The
/// caller is counted in `*blocked(state)` while it sleeps: completers
/// signal `cond` only when that count is non-zero (a futex call per
/// completion otherwise), and they read it under the same lock.
pub(crate) fn wait_counted<'a, T>(
    cond: &Condvar,
    mut g: std::sync::MutexGuard<'a, T>,
    until: Option<std::time::Instant>,
    blocked: fn(&mut T) -> &mut usize,
) -> Option<std::sync::MutexGuard<'a, T>> {
    let now = std::time::Instant::now();
    if until.is_some_and(|d| now >= d) {
        return None;
    }
    *blocked(&mut g) += 1;
    let mut g = match until {
        None => cond.wait(g).unwrap_or_else(|e| e.into_inner()),
        Some(d) => {
            cond.wait_timeout(g, d - now)
                .unwrap_or_else(|e| e.into_inner())
                .0
        }
    };
    *blocked(&mut g) -= 1;
    Some(g)
}
