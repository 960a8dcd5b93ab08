//! `Interval`: first tick immediate, period, and the Burst / Delay / Skip
//! missed-tick behaviours (paused clock).
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{self, interval, interval_at, Duration, Instant, MissedTickBehavior};

fn paused_rt() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn first_tick_immediate_then_every_period() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let mut iv = interval(ms(100));
        assert_eq!(iv.period(), ms(100));
        assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
        assert_eq!(iv.tick().await, start);
        assert_eq!(Instant::now(), start);
        for i in 1..=5 {
            assert_eq!(iv.tick().await, start + ms(100 * i));
            assert_eq!(Instant::now(), start + ms(100 * i));
        }
    });
}

#[test]
fn one_hour_interval_runs_instantly() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let mut iv = interval(Duration::from_secs(3600));
        for _ in 0..25 {
            iv.tick().await;
        }
        assert_eq!(Instant::now(), start + Duration::from_secs(24 * 3600));
    });
}

#[test]
fn interval_at_starts_later() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let mut iv = interval_at(start + ms(250), ms(100));
        assert_eq!(iv.tick().await, start + ms(250));
        assert_eq!(iv.tick().await, start + ms(350));
    });
}

/// Ticks due at 0, 100, 200...; the task is busy from the tick at 100 until
/// 350, then ticks again (the scenario of the `MissedTickBehavior` docs).
async fn missed(behavior: MissedTickBehavior) -> Vec<Duration> {
    let start = Instant::now();
    let mut iv = interval(ms(100));
    iv.set_missed_tick_behavior(behavior);
    iv.tick().await; // 0
    iv.tick().await; // 100
    time::advance(ms(250)).await; // now 350: ticks at 200 and 300 missed
    let mut out = Vec::new();
    for _ in 0..4 {
        let due = iv.tick().await;
        out.push(due - start);
        // Each returned tick is observed no earlier than it was due.
        assert!(Instant::now() >= due);
    }
    out
}

#[test]
fn burst_catches_up_keeping_schedule() {
    let got = paused_rt().block_on(missed(MissedTickBehavior::Burst));
    assert_eq!(got, vec![ms(200), ms(300), ms(400), ms(500)]);
}

#[test]
fn delay_restarts_from_late_tick() {
    let got = paused_rt().block_on(missed(MissedTickBehavior::Delay));
    assert_eq!(got, vec![ms(200), ms(450), ms(550), ms(650)]);
}

#[test]
fn skip_keeps_schedule_drops_missed() {
    let got = paused_rt().block_on(missed(MissedTickBehavior::Skip));
    assert_eq!(got, vec![ms(200), ms(400), ms(500), ms(600)]);
}

#[test]
fn reset_restarts_schedule() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let mut iv = interval(ms(100));
        iv.tick().await;
        time::advance(ms(30)).await;
        iv.reset(); // next tick one period from now (130)
        assert_eq!(iv.tick().await, start + ms(130));
        iv.reset_after(ms(5));
        assert_eq!(iv.tick().await, start + ms(135));
        iv.reset_immediately();
        assert_eq!(iv.tick().await, start + ms(135));
        iv.reset_at(start + ms(1000));
        assert_eq!(iv.tick().await, start + ms(1000));
        assert_eq!(iv.tick().await, start + ms(1100));
    });
}

#[test]
#[should_panic(expected = "`period` must be non-zero.")]
fn zero_period_panics() {
    paused_rt().block_on(async {
        let _ = interval(Duration::ZERO);
    });
}

// `interval(Duration::MAX)` (tick once, then never): the missed-tick paths
// and `reset` computed `Instant + period` unchecked and panicked.
fn late_first_tick(b: MissedTickBehavior) -> bool {
    std::panic::catch_unwind(|| {
        paused_rt().block_on(async {
            let mut iv = interval(Duration::MAX); // "tick once, then never"
            iv.set_missed_tick_behavior(b);
            time::advance(Duration::from_millis(10)).await; // busy for 10 ms
            iv.tick().await; // first tick, observed 10 ms late
        })
    })
    .is_err()
}

#[test]
fn a_huge_period_observed_late_does_not_overflow() {
    let mut panicked = Vec::new();
    for b in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        if late_first_tick(b) {
            panicked.push(b);
        }
    }
    // On time, the same interval does not panic (checked_add there).
    paused_rt().block_on(async {
        let mut iv = interval(Duration::MAX);
        iv.tick().await;
    });
    assert!(panicked.is_empty(), "panicked for {panicked:?}");
}

#[test]
fn a_huge_period_reset_does_not_overflow() {
    let r = std::panic::catch_unwind(|| {
        paused_rt().block_on(async {
            let mut iv = interval(Duration::MAX);
            iv.tick().await;
            iv.reset();
        })
    });
    assert!(r.is_ok(), "Interval::reset panicked");
}
