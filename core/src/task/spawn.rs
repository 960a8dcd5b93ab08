//! `spawn` and `spawn_blocking` on the current runtime.
use super::join::JoinHandle;
use std::future::Future;

/// Spawns a future onto the runtime this is called from; it starts running
/// in the background at once, on any worker thread.
///
/// # Panics
/// When called outside a runtime context (no `block_on`, task, or entered
/// handle on this thread).
///
/// ```
/// let rt = runtime_core::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let h = runtime_core::spawn(async { 1 + 1 });
///     assert_eq!(h.await.unwrap(), 2);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::runtime::Handle::try_current() {
        Ok(h) => h.spawn(future),
        Err(e) => panic!("`spawn` {e}"),
    }
}

/// Runs a blocking closure on the runtime's blocking pool, a separate,
/// growing set of threads, so it does not stall the async workers.
///
/// # Errors
/// If the pool has no thread and the OS refuses to start one (EAGAIN,
/// ENOMEM), the closure does not run and the `JoinHandle` resolves to a
/// cancelled [`JoinError`](crate::task::JoinError) (the OS error is also
/// printed to stderr); if the pool has threads but cannot start another,
/// the task waits in the queue for a free one.
///
/// # Panics
/// When called outside a runtime context.
///
/// ```
/// let rt = runtime_core::runtime::Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     runtime_core::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(1)))
///         .await
///         .unwrap();
///     7
/// });
/// assert_eq!(v, 7);
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match crate::runtime::Handle::try_current() {
        Ok(h) => h.spawn_blocking(f),
        Err(e) => panic!("`spawn_blocking` {e}"),
    }
}
