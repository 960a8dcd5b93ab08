//! The paused clock: `start_paused`, `pause`/`resume`/`advance`,
//! `Instant::now` following it, auto-advance, and refusal on multi-thread.
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{self, sleep, Duration, Instant};

fn panic_msg(err: Box<dyn std::any::Any + Send>) -> String {
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

#[test]
fn start_paused_freezes_instant_now() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(Instant::now(), t0, "paused clock moved by itself");
        sleep(Duration::from_secs(86_400)).await; // auto-advance
        assert_eq!(Instant::now(), t0 + Duration::from_secs(86_400));
        assert_eq!(t0.elapsed(), Duration::from_secs(86_400));
    });
}

#[test]
fn pause_resume_advance() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        time::pause();
        let t0 = Instant::now();
        time::advance(Duration::from_secs(10)).await;
        assert_eq!(Instant::now(), t0 + Duration::from_secs(10));
        time::resume();
        std::thread::sleep(Duration::from_millis(2));
        assert!(Instant::now() > t0 + Duration::from_secs(10));
        // Real time again: a short sleep really waits.
        let before = std::time::Instant::now();
        sleep(Duration::from_millis(5)).await;
        assert!(before.elapsed() >= Duration::from_millis(5));
    });
}

#[test]
fn advance_fires_due_timers() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let t0 = Instant::now();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = done.clone();
        let _h = runtime_core::spawn(async move {
            sleep(Duration::from_secs(5)).await;
            d.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        runtime_core::task::yield_now().await;
        time::advance(Duration::from_secs(5)).await;
        // Never idle (we keep yielding), so only `advance` can move time:
        // the timer must fire without auto-advance.
        let mut spins = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            spins += 1;
            assert!(spins < 1000, "advance did not fire the due timer");
            runtime_core::task::yield_now().await;
        }
        assert_eq!(Instant::now(), t0 + Duration::from_secs(5));
    });
}

#[test]
fn pause_errors() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let e = std::panic::catch_unwind(time::pause).unwrap_err();
        assert!(panic_msg(e).contains("already frozen"));
        time::resume();
        let e = std::panic::catch_unwind(time::resume).unwrap_err();
        assert!(panic_msg(e).contains("not frozen"));
    });
    let e = std::panic::catch_unwind(time::pause).unwrap_err();
    assert!(panic_msg(e).contains("outside a runtime_core runtime"));
}

#[test]
fn pause_on_multi_thread_runtime_panics() {
    let rt = Runtime::new().unwrap();
    let msg = rt.block_on(async {
        let e = std::panic::catch_unwind(time::pause).unwrap_err();
        panic_msg(e)
    });
    assert!(msg.contains("current-thread runtime"), "{msg}");
}

#[test]
fn instant_now_outside_runtime_is_real_time() {
    let a = Instant::now();
    std::thread::sleep(Duration::from_millis(2));
    assert!(Instant::now() >= a + Duration::from_millis(2));
}

#[test]
fn running_blocking_task_inhibits_auto_advance() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let blocking = runtime_core::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(30));
            7
        });
        let long = std::pin::pin!(sleep(Duration::from_secs(3600)));
        // Were the clock to auto-advance while the blocking task runs, the
        // hour-long sleep would win at once.
        match futures::future::select(blocking, long).await {
            futures::future::Either::Left((v, _)) => assert_eq!(v.unwrap(), 7),
            futures::future::Either::Right(_) => {
                panic!("clock auto-advanced past a running blocking task")
            }
        }
        assert_eq!(Instant::now(), start);
    });
}

#[test]
fn detached_blocking_task_finishing_lets_the_clock_advance_at_once() {
    // A blocking task nobody awaits inhibits auto-advance while it runs;
    // when it ends, the runtime (asleep in the driver until its hour-long
    // timer) must be woken to auto-advance, not sleep that hour for real.
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let real = std::time::Instant::now();
    rt.block_on(async {
        let start = Instant::now();
        drop(runtime_core::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(30))
        }));
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(3600));
    });
    let took = real.elapsed();
    assert!(
        took >= Duration::from_millis(30),
        "advanced while the task ran"
    );
    assert!(
        took < Duration::from_secs(10),
        "slept {took:?} in real time"
    );
}
