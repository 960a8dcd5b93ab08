//! Runtime context: `Handle::current`, `enter`, clear panics outside a
//! runtime and on nested `block_on`.
use runtime_core::runtime::{Builder, Handle, RuntimeFlavor};

#[test]
fn spawn_outside_runtime_panics_clearly() {
    let err = std::panic::catch_unwind(|| {
        runtime_core::spawn(async {});
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("must be called from the context of a runtime"),
        "{msg}"
    );
}

#[test]
fn try_current_outside_is_error() {
    let e = Handle::try_current().unwrap_err();
    assert!(e.is_missing_context());
}

#[test]
fn handle_current_inside_and_enter() {
    let rt = Builder::new_current_thread().build().unwrap();
    let flavor = rt.block_on(async { Handle::current().runtime_flavor() });
    assert_eq!(flavor, RuntimeFlavor::CurrentThread);
    {
        let _g = rt.enter();
        let h = runtime_core::spawn(async { 4 });
        assert_eq!(rt.block_on(h).unwrap(), 4);
    }
    assert!(Handle::try_current().is_err());
}

#[test]
fn nested_block_on_panics() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let res = rt.block_on(async {
        runtime_core::spawn(async {
            let h = Handle::current();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.block_on(async {}))).is_err()
        })
        .await
        .unwrap()
    });
    assert!(res, "block_on inside a worker must panic, not deadlock");
}

#[test]
fn task_ids_are_unique_and_visible() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        assert!(runtime_core::task::try_id().is_none());
        let h = runtime_core::spawn(async { runtime_core::task::id() });
        let id = h.id();
        assert_eq!(h.await.unwrap(), id);
        let a = runtime_core::spawn(async {});
        let b = runtime_core::spawn(async {});
        assert_ne!(a.id(), b.id());
    });
}

#[test]
fn current_thread_runs_everything_on_caller() {
    let rt = Builder::new_current_thread().build().unwrap();
    let me = std::thread::current().id();
    rt.block_on(async move {
        let ids: Vec<_> = (0..10)
            .map(|_| runtime_core::spawn(async { std::thread::current().id() }))
            .collect();
        for h in ids {
            assert_eq!(h.await.unwrap(), me);
        }
    });
}

#[test]
fn current_thread_turn_drives_tasks() {
    use std::time::Duration;
    let rt = Builder::new_current_thread().build().unwrap();
    let h = rt.spawn(async {
        runtime_core::task::yield_now().await;
        5
    });
    let mut polls = 0;
    while !h.is_finished() {
        polls += rt.turn(Duration::from_millis(10));
    }
    assert!(polls >= 2);
    assert_eq!(rt.block_on(h).unwrap(), 5);
    // Nothing to do: returns after waiting, with zero polls.
    assert_eq!(rt.turn(Duration::from_millis(1)), 0);
}

#[test]
fn block_on_from_two_threads_on_current_thread_runtime() {
    let rt = std::sync::Arc::new(Builder::new_current_thread().build().unwrap());
    let rt2 = rt.clone();
    let t = std::thread::spawn(move || {
        rt2.block_on(async {
            let mut s = 0;
            for i in 0..100 {
                s += runtime_core::spawn(async move { i }).await.unwrap();
            }
            s
        })
    });
    let a = rt.block_on(async {
        let mut s = 0;
        for i in 0..100 {
            s += runtime_core::spawn(async move { i }).await.unwrap();
        }
        s
    });
    assert_eq!(a, 4950);
    assert_eq!(t.join().unwrap(), 4950);
}

/// `EnterGuard`s dropped in the order they were made: a panic (as in
/// Tokio), not a runtime left current for good.
#[test]
fn enter_guards_dropped_out_of_order_panic() {
    let rt1 = Builder::new_current_thread().build().unwrap();
    let rt2 = Builder::new_current_thread().build().unwrap();
    // On a thread of its own: after the panic, that thread's context is
    // not repaired (as in Tokio).
    let msg = std::thread::scope(|s| {
        s.spawn(|| {
            let g1 = rt1.enter();
            let g2 = rt2.enter();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g1)));
            drop(g2);
            let e = r.unwrap_err();
            e.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        })
        .join()
        .unwrap()
    });
    assert!(msg.contains("dropped out of order"), "{msg}");
    // In order, guards restore each other.
    let g1 = rt1.enter();
    let g2 = rt2.enter();
    drop(g2);
    assert!(Handle::try_current().is_ok());
    drop(g1);
    assert!(Handle::try_current().is_err());
}
