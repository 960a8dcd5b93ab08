//! Cancelling timers unlinks them: the wheel's count of registered timers
//! returns to zero, with no tombstones left behind.
use runtime_core::runtime::Builder;
use runtime_core::time::{self, sleep, Duration, Instant, Sleep};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

fn poll_once(s: Pin<&mut Sleep>) -> Poll<()> {
    s.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

#[test]
fn cancel_half_then_fire_the_rest() {
    let n: usize = 1_000_000;
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let mut rng = fastrand::Rng::with_seed(1);
        let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..n)
            .map(|_| Box::pin(sleep(Duration::from_millis(rng.u64(1..100_000)))))
            .collect();
        assert_eq!(time::registered_timers(), 0, "creation registers nothing");
        for s in sleeps.iter_mut() {
            assert!(poll_once(s.as_mut()).is_pending());
        }
        assert_eq!(time::registered_timers(), n);

        // Cancel every other one.
        let mut i = 0;
        sleeps.retain(|_| {
            i += 1;
            i % 2 == 0
        });
        assert_eq!(time::registered_timers(), n / 2);

        // Fire the rest: wait past the last deadline.
        sleep(Duration::from_secs(100)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(100));
        assert_eq!(time::registered_timers(), 0);
        assert!(sleeps.iter().all(|s| s.is_elapsed()));
        // (Few polls: each one spends a unit of the task's coop budget.)
        for s in sleeps.iter_mut().take(50) {
            assert!(poll_once(s.as_mut()).is_ready());
        }
    });
}

#[test]
fn register_cancel_churn_leaves_nothing() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        for round in 0..50_000u64 {
            let mut s = Box::pin(sleep(Duration::from_millis(round % 5000 + 1)));
            assert!(poll_once(s.as_mut()).is_pending());
            // Postpone (lock-free path) some of them before dropping.
            if round % 3 == 0 {
                let d = s.deadline() + Duration::from_secs(1);
                s.as_mut().reset(d);
            }
        }
        assert_eq!(time::registered_timers(), 0);
    });
}
