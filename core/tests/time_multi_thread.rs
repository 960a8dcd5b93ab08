//! Timers on the multi-thread runtime: registered on one thread and fired
//! by whichever worker drives the wheel, registration from a foreign thread
//! unparks a driver that sleeps until a later deadline.
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{self, sleep, Duration, Instant, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::Context;

fn mt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

#[test]
fn many_tasks_many_workers_never_early() {
    let rt = mt(4);
    rt.block_on(async {
        let mut hs = Vec::new();
        for i in 0..2000u64 {
            hs.push(runtime_core::spawn(async move {
                let d = Duration::from_micros((i * 7919) % 30_000);
                let deadline = Instant::now() + d;
                sleep(d).await;
                assert!(Instant::now() >= deadline);
                std::thread::current().id()
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(time::registered_timers(), 0);
    });
}

#[test]
fn sleep_registered_in_one_task_completes_in_another() {
    let rt = mt(4);
    rt.block_on(async {
        let mut hs = Vec::new();
        for i in 0..64u64 {
            // Create and register on whichever worker runs this task...
            let h = runtime_core::spawn(async move {
                let mut s: Pin<Box<Sleep>> = Box::pin(sleep(Duration::from_millis(5 + i % 10)));
                let noop = futures::task::noop_waker_ref();
                assert!(s.as_mut().poll(&mut Context::from_waker(noop)).is_pending());
                (s, std::thread::current().id())
            });
            hs.push(h);
        }
        let mut waits = Vec::new();
        for h in hs {
            let (s, _registered_on) = h.await.unwrap();
            let deadline = s.deadline();
            // ...and await it in a different task (likely another worker).
            waits.push(runtime_core::spawn(async move {
                s.await;
                assert!(Instant::now() >= deadline);
            }));
        }
        for w in waits {
            w.await.unwrap();
        }
    });
}

#[test]
fn foreign_thread_registration_unparks_the_driver() {
    let rt = mt(2);
    // The driver parks until this far-away timer...
    let _far = rt.spawn(async { sleep(Duration::from_secs(3600)).await });
    std::thread::sleep(Duration::from_millis(20));
    // ...then a thread outside the runtime polls an earlier one: the
    // driver must be unparked to re-compute its deadline. (The generous
    // bound only turns "never" into a failure instead of a 1-hour hang.)
    // (Created inside the runtime, polled outside it.)
    let s = {
        let _guard = rt.enter();
        sleep(Duration::from_millis(30))
    };
    let deadline = s.deadline();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        futures::executor::block_on(s);
        tx.send(Instant::now()).unwrap();
    });
    let done_at = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("timer registered from a foreign thread never fired");
    assert!(done_at >= deadline);
}
