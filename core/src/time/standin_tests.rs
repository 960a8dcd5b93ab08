//! TEMPORARY: end-to-end tests of Sleep/Timeout/Interval on a stand-in
//! executor, until the real runtime lands.
use super::*;
use crate::runtime::driver::{Cfg, Driver as RtDriver};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Unpark(super::context::RtHandle);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.driver().unpark();
    }
}

fn block_on<F: Future>(paused: bool, f: impl FnOnce() -> F) -> F::Output {
    let (mut driver, h) = RtDriver::new(Cfg {
        event_interval_hint: 64,
        start_paused: paused,
    })
    .unwrap();
    let h = super::context::new_rt_handle(h);
    super::context::enter(Some(h.clone()));
    let waker = Waker::from(Arc::new(Unpark(h.clone())));
    let mut fut = pin!(f());
    let out = loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            break v;
        }
        driver.park(h.driver());
    };
    driver.shutdown(h.driver());
    super::context::enter(None);
    out
}

#[test]
fn sleep_paused_exact() {
    block_on(true, || async {
        let start = Instant::now();
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(3600));
        let r = timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
        assert!(r.is_err());
        assert_eq!(Instant::now(), start + Duration::from_millis(3_600_010));
        assert_eq!(timeout(Duration::ZERO, async { 3 }).await, Ok(3));
        assert_eq!(registered_timers(), 0);
    });
}

#[test]
fn sleep_real_not_early() {
    block_on(false, || async {
        for us in [1u64, 500, 1000, 1500, 7000] {
            let d = Duration::from_micros(us);
            let deadline = Instant::now() + d;
            sleep(d).await;
            assert!(std::time::Instant::now() >= deadline.into_std());
        }
    });
}

#[test]
fn interval_missed_behaviours() {
    for (b, want) in [
        (MissedTickBehavior::Burst, [200u64, 300, 400, 500]),
        (MissedTickBehavior::Delay, [200, 450, 550, 650]),
        (MissedTickBehavior::Skip, [200, 400, 500, 600]),
    ] {
        let got = block_on(true, || async move {
            let start = Instant::now();
            let mut iv = interval(Duration::from_millis(100));
            iv.set_missed_tick_behavior(b);
            assert_eq!(iv.tick().await, start);
            assert_eq!(iv.tick().await, start + Duration::from_millis(100));
            advance(Duration::from_millis(250)).await;
            let mut out = Vec::new();
            for _ in 0..4 {
                out.push((iv.tick().await - start).as_millis() as u64);
            }
            out
        });
        assert_eq!(got, want, "{b:?}");
    }
}

#[test]
fn many_sleeps_order() {
    block_on(true, || async {
        let start = Instant::now();
        let mut rng = fastrand::Rng::with_seed(3);
        let mut v: Vec<_> = (0..(if cfg!(miri) { 200 } else { 5000 }))
            .map(|_| Box::pin(sleep(Duration::from_millis(rng.u64(0..10_000_000)))))
            .collect();
        let mut noop = Context::from_waker(futures_util::task::noop_waker_ref());
        for s in v.iter_mut() {
            let _ = s.as_mut().poll(&mut noop);
        }
        v.truncate(v.len() / 2);
        sleep(Duration::from_millis(10_000_000)).await;
        assert_eq!(Instant::now(), start + Duration::from_millis(10_000_000));
        assert!(v.iter().all(|s| s.is_elapsed()));
        assert_eq!(registered_timers(), 0);
    });
}

#[test]
fn sizes() {
    eprintln!(
        "Sleep={} TimerEntry={} TimerShared={} Timeout<Ready<()>>={}",
        std::mem::size_of::<Sleep>(),
        std::mem::size_of::<super::timer::TimerEntry>(),
        std::mem::size_of::<super::entry::TimerShared>(),
        std::mem::size_of::<Timeout<std::future::Ready<()>>>()
    );
}
