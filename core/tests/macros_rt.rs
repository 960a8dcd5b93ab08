//! The combinator macros on the real runtime: inside spawned tasks (their
//! futures must be `Send`), over `JoinHandle`s, on both flavors.
use runtime_core::task::JoinHandle;

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[runtime_core::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_of_spawned_tasks_keeps_order() {
    let handles: Vec<JoinHandle<usize>> = (0..3)
        .map(|i| runtime_core::spawn(async move { i * 10 }))
        .collect();
    let mut it = handles.into_iter();
    let (a, b, c) = runtime_core::join!(it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (0, 10, 20));
}

#[runtime_core::test(flavor = "multi_thread", worker_threads = 2)]
async fn macros_inside_spawned_tasks_are_send() {
    let task = runtime_core::spawn(assert_send(async {
        let (x, y) = runtime_core::join!(async { 1 }, async { 2 });
        let sum: Result<(u32, u32), String> =
            runtime_core::try_join!(async { Ok(x) }, async { Ok(y) });
        let (x, y) = sum.unwrap();
        let picked = runtime_core::select! {
            v = async { x + y } => v,
            v = std::future::pending::<u32>() => v,
        };
        picked * 2
    }));
    assert_eq!(task.await.unwrap(), 6);
}

#[runtime_core::test]
async fn select_between_tasks_on_current_thread() {
    let fast = runtime_core::spawn(async { "fast" });
    let slow = runtime_core::spawn(std::future::pending::<&str>());
    let winner = runtime_core::select! {
        r = fast => r.unwrap(),
        r = slow => r.unwrap(),
    };
    assert_eq!(winner, "fast");
}

#[runtime_core::test]
async fn try_join_of_tasks_short_circuits() {
    let ok = runtime_core::spawn(async { Ok::<u32, String>(1) });
    let err = runtime_core::spawn(async { Err::<u32, String>("bad".into()) });
    let stuck = runtime_core::spawn(std::future::pending::<Result<u32, String>>());
    let flatten = |h: JoinHandle<Result<u32, String>>| async move {
        h.await.map_err(|e| e.to_string()).and_then(|r| r)
    };
    let out = runtime_core::try_join!(flatten(ok), flatten(err), flatten(stuck));
    assert_eq!(out, Err("bad".to_string()));
}

#[runtime_core::test]
async fn select_loop_with_yields_lets_other_tasks_run() {
    // A task that must run for the loop to end: the select's futures yield
    // back to the scheduler, so it does.
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        runtime_core::spawn(async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) })
    };
    let mut spins = 0u32;
    while !flag.load(std::sync::atomic::Ordering::SeqCst) {
        spins += 1;
        assert!(spins < 10_000, "the spawned task never ran");
        runtime_core::select! {
            () = runtime_core::task::yield_now() => {},
            () = runtime_core::task::yield_now() => {},
        }
    }
    setter.await.unwrap();
}
