//! Test support: a reactor driven by a plain thread (no scheduler).
use crate::io::driver::{Driver, Handle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// Runs a thread that parks in the driver until dropped.
pub(crate) struct DriverThread {
    pub(crate) handle: Handle,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<Driver>>,
}

impl DriverThread {
    pub(crate) fn start() -> DriverThread {
        let (mut driver, handle) = Driver::new(64).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (handle.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                driver.park_timeout(&h, None);
            }
            driver
        });
        DriverThread {
            handle,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread and runs the driver's shutdown.
    pub(crate) fn shutdown(mut self) {
        let mut driver = self.stop_thread();
        driver.shutdown(&self.handle);
    }

    fn stop_thread(&mut self) -> Driver {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.unpark();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for DriverThread {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop_thread();
        }
    }
}

/// Runs `f` with a fresh driver thread's reactor entered on this thread.
pub(crate) fn with_reactor<R>(f: impl FnOnce(&Handle) -> R) -> R {
    let dt = DriverThread::start();
    let _g = crate::io::context::enter(dt.handle.clone());
    f(&dt.handle)
}

thread_local! {
    static LOCAL_SPAWNER: std::cell::RefCell<Option<futures::executor::LocalSpawner>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `pool` until all its tasks finish, letting them spawn more through
/// [`spawn_local_detached`].
pub(crate) fn run_pool(pool: &mut futures::executor::LocalPool) {
    LOCAL_SPAWNER.with(|s| *s.borrow_mut() = Some(pool.spawner()));
    pool.run();
    LOCAL_SPAWNER.with(|s| *s.borrow_mut() = None);
}

/// Spawns onto the pool being run by [`run_pool`] on this thread.
pub(crate) fn spawn_local_detached(f: impl std::future::Future<Output = ()> + 'static) {
    use futures::task::LocalSpawnExt;
    LOCAL_SPAWNER.with(|s| {
        s.borrow()
            .as_ref()
            .expect("inside run_pool")
            .spawn_local(f)
            .unwrap()
    });
}
