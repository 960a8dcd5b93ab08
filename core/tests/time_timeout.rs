//! `timeout` / `timeout_at`: ready futures win, pending ones time out
//! exactly at the deadline, busy futures cannot starve the timer.
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{self, error::Elapsed, sleep, timeout, timeout_at, Duration, Instant};
use std::future::{pending, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

fn paused_rt() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn never_ready_future_times_out_at_deadline() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let r = timeout(Duration::from_secs(30), pending::<()>()).await;
        let _: Elapsed = r.unwrap_err();
        assert_eq!(Instant::now(), start + Duration::from_secs(30));
        let r = timeout_at(start + Duration::from_secs(40), pending::<u8>()).await;
        assert!(r.is_err());
        assert_eq!(Instant::now(), start + Duration::from_secs(40));
        assert_eq!(time::registered_timers(), 0);
    });
}

#[test]
fn ready_future_wins_without_registering() {
    paused_rt().block_on(async {
        let start = Instant::now();
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        assert_eq!(timeout(Duration::MAX, async { 6 }).await, Ok(6));
        assert_eq!(
            timeout_at(start - Duration::from_secs(1), async { 7 }).await,
            Ok(7)
        );
        let r = timeout(Duration::from_secs(10), sleep(Duration::from_secs(1))).await;
        assert_eq!(r, Ok(()));
        assert_eq!(Instant::now(), start + Duration::from_secs(1));
        assert_eq!(time::registered_timers(), 0);
    });
}

#[test]
fn real_clock_timeout_not_early() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let r = timeout(Duration::from_millis(20), pending::<()>()).await;
        assert!(r.is_err());
        assert!(Instant::now() >= start + Duration::from_millis(20));
    });
}

/// Always ready to do more work: wakes itself and returns `Pending`.
struct Busy;
impl Future for Busy {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn busy_future_still_times_out() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let r = timeout(Duration::from_millis(10), Busy).await;
        assert!(r.is_err());
    });
}

#[test]
fn elapsed_error_converts_to_io() {
    paused_rt().block_on(async {
        let e = timeout(Duration::from_millis(1), pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "deadline has elapsed");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn timeout_accessors() {
    paused_rt().block_on(async {
        let mut t = timeout(Duration::from_secs(1), async { 1 });
        let _: &mut _ = t.get_mut();
        let _: &_ = t.get_ref();
        assert_eq!(t.into_inner().await, 1);
    });
}
