//! A panicking task never takes down its worker: the panic reaches its
//! `JoinHandle` and the runtime keeps serving.
use runtime_core::runtime::Builder;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn panic_delivered_through_join_error() {
    for rt in [
        Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
        Builder::new_current_thread().build().unwrap(),
    ] {
        rt.block_on(async {
            let err = runtime_core::spawn(async { panic!("task exploded") })
                .await
                .unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert!(err.to_string().contains("task exploded"), "{err}");
            let payload = err.into_panic();
            assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "task exploded");
            // The runtime still works.
            assert_eq!(runtime_core::spawn(async { 1 }).await.unwrap(), 1);
        });
    }
}

#[test]
fn many_panics_do_not_kill_workers() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..200)
            .map(|i| {
                runtime_core::spawn(async move {
                    if i % 2 == 0 {
                        panic!("even {i}");
                    }
                    i
                })
            })
            .collect();
        let (mut ok, mut panicked) = (0, 0);
        for h in hs {
            match h.await {
                Ok(_) => ok += 1,
                Err(e) if e.is_panic() => panicked += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, panicked), (100, 100));
    });
}

struct PanicOnDrop(Arc<AtomicBool>);
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        panic!("drop panicked");
    }
}

#[test]
fn panic_in_future_drop_on_abort_is_reported() {
    let rt = Builder::new_current_thread().build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let p = PanicOnDrop(ran.clone());
    let h = rt.spawn(async move {
        let _p = p;
        std::future::pending::<()>().await
    });
    rt.block_on(runtime_core::task::yield_now());
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(ran.load(Ordering::SeqCst));
    assert!(
        err.is_panic(),
        "a panic while dropping is reported as a panic"
    );
}

#[test]
fn panic_with_detached_handle_is_contained() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    drop(rt.spawn(async { panic!("nobody is listening") }));
    assert_eq!(
        rt.block_on(async { runtime_core::spawn(async { 9 }).await.unwrap() }),
        9
    );
}
