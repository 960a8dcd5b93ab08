//! `sleep` / `sleep_until` / `Sleep`: never early, reset earlier/later,
//! far-future deadlines, panics outside a runtime.
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{self, sleep, sleep_until, Duration, Instant};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

fn paused_rt() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Polls `f` once with a no-op waker.
fn poll_once<F: Future + ?Sized>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

#[test]
fn sleep_is_never_early_real_clock() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..50u64 {
            handles.push(runtime_core::spawn(async move {
                let d = Duration::from_micros(i * 317 + 1);
                let deadline = Instant::now() + d;
                sleep(d).await;
                let now = Instant::now();
                assert!(now >= deadline, "woke {:?} early", deadline - now);
                let std_now = std::time::Instant::now();
                assert!(std_now >= deadline.into_std());
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn sleep_until_never_early_current_thread() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        for ms in [0u64, 1, 2, 5, 13] {
            let deadline = Instant::now() + Duration::from_millis(ms) + Duration::from_micros(250);
            let s = sleep_until(deadline);
            assert_eq!(s.deadline(), deadline);
            s.await;
            assert!(Instant::now() >= deadline);
        }
    });
}

#[test]
fn zero_and_past_deadlines_complete() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        sleep(Duration::ZERO).await;
        sleep_until(start - Duration::from_secs(1)).await;
        assert_eq!(Instant::now(), start, "no time passes");
    });
}

#[test]
fn duration_max_does_not_overflow() {
    let rt = paused_rt();
    rt.block_on(async {
        let long = sleep(Duration::MAX);
        assert!(long.deadline() > Instant::now() + Duration::from_secs(86_400 * 365 * 10));
        let mut long = pin!(long);
        assert!(poll_once(long.as_mut()).is_pending());
        // It does not hold up a shorter timer.
        sleep(Duration::from_secs(5)).await;
        assert!(!long.is_elapsed());
        assert!(poll_once(long.as_mut()).is_pending());
    });
}

#[test]
fn reset_earlier_later_and_after_completion() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        // Earlier.
        let mut s = pin!(sleep(Duration::from_secs(100)));
        assert!(poll_once(s.as_mut()).is_pending());
        s.as_mut().reset(start + Duration::from_secs(1));
        s.as_mut().await;
        assert_eq!(Instant::now(), start + Duration::from_secs(1));
        assert!(s.is_elapsed());

        // Reset after completion: pending again until the new deadline.
        s.as_mut().reset(start + Duration::from_secs(3));
        assert!(!s.is_elapsed());
        assert!(poll_once(s.as_mut()).is_pending());
        s.as_mut().await;
        assert_eq!(Instant::now(), start + Duration::from_secs(3));

        // Later (registered first, then postponed).
        let mut s = pin!(sleep(Duration::from_secs(1)));
        assert!(poll_once(s.as_mut()).is_pending());
        s.as_mut().reset(start + Duration::from_secs(60));
        assert_eq!(s.deadline(), start + Duration::from_secs(60));
        // A separate timer in between fires while the postponed one waits.
        sleep_until(start + Duration::from_secs(30)).await;
        assert!(poll_once(s.as_mut()).is_pending());
        s.as_mut().await;
        assert_eq!(Instant::now(), start + Duration::from_secs(60));

        // Reset to the past completes immediately.
        let mut s = pin!(sleep(Duration::from_secs(10)));
        assert!(poll_once(s.as_mut()).is_pending());
        s.as_mut().reset(start);
        assert!(poll_once(s.as_mut()).is_ready());
    });
}

#[test]
fn dropped_sleeps_unregister() {
    let rt = paused_rt();
    rt.block_on(async {
        assert_eq!(time::registered_timers(), 0);
        {
            let mut a = Box::pin(sleep(Duration::from_secs(1)));
            let b = sleep(Duration::from_secs(1)); // never polled: not registered
            assert!(poll_once(a.as_mut()).is_pending());
            assert_eq!(time::registered_timers(), 1);
            drop(b);
        }
        assert_eq!(time::registered_timers(), 0);
    });
}

#[test]
fn sleep_outside_runtime_panics_clearly() {
    let err = std::panic::catch_unwind(|| {
        drop(sleep(Duration::from_millis(1)));
    })
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(
        msg.contains("must be called from the context of a runtime_core runtime"),
        "{msg}"
    );
}

#[test]
fn sleep_in_spawned_tasks_and_select() {
    let rt = paused_rt();
    rt.block_on(async {
        let start = Instant::now();
        let h = runtime_core::spawn(async move {
            sleep(Duration::from_millis(1500)).await;
            Instant::now()
        });
        let fast = sleep(Duration::from_millis(10));
        let slow = sleep(Duration::from_secs(10));
        let (fast, slow) = (pin!(fast), pin!(slow));
        let which = futures::future::select(fast, slow).await;
        assert!(matches!(which, futures::future::Either::Left(_)));
        assert_eq!(Instant::now(), start + Duration::from_millis(10));
        assert_eq!(h.await.unwrap(), start + Duration::from_millis(1500));
    });
}
