//! A panic inside current-thread block_on or turn must not lose the scheduler core.
//! A panic escaping `block_on` on a current-thread runtime must not lose
//! the scheduler core.
use runtime_core::runtime::Builder;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn block_on_after_panic_still_works_and_drop_does_not_hang() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = Builder::new_current_thread().build().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { panic!("boom") });
        }));
        assert!(r.is_err());
        // The runtime must still be usable.
        let v = rt.block_on(async { runtime_core::spawn(async { 5 }).await.unwrap() });
        assert_eq!(v, 5);
        drop(rt);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("block_on / drop after a panicking block_on hung");
}

struct SetOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn tasks_cancelled_when_runtime_dropped_during_unwind() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = dropped.clone();
    let r = catch_unwind(AssertUnwindSafe(move || {
        let rt = Builder::new_current_thread().build().unwrap();
        rt.block_on(async move {
            let guard = SetOnDrop(d);
            runtime_core::spawn(async move {
                let _g = guard;
                std::future::pending::<()>().await
            });
            panic!("boom");
        });
    }));
    assert!(r.is_err());
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "spawned task's future leaked"
    );
}
