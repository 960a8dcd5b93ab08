//! A runtime dropped by one of its own blocking-pool threads after that
//! thread left the pool at keep-alive (from a thread-local destructor, the
//! only code that runs there then) must not join that thread's own handle
//! (`Shared::last_exiting`), which holds it once it has counted itself out.
use runtime_core::runtime::{Builder, Runtime};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static DROPPED: AtomicBool = AtomicBool::new(false);

struct DropRuntime(Option<Runtime>);

impl Drop for DropRuntime {
    fn drop(&mut self) {
        drop(self.0.take());
        DROPPED.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static HOLD: RefCell<Option<DropRuntime>> = const { RefCell::new(None) };
}

#[test]
fn a_runtime_dropped_by_its_own_exiting_pool_thread_returns() {
    let rt = Builder::new_current_thread()
        .thread_keep_alive(Duration::from_millis(20))
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let slot = Arc::new(Mutex::new(Some(rt)));
    let s = slot.clone();
    let h = handle.spawn_blocking(move || {
        let rt = s.lock().unwrap().take();
        HOLD.with(|h| *h.borrow_mut() = Some(DropRuntime(rt)));
    });
    drop(handle);
    // Wait for the blocking task from outside any runtime.
    let start = Instant::now();
    while !h.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(1));
    }
    while !DROPPED.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the pool thread never finished dropping its runtime (a join of itself)"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
