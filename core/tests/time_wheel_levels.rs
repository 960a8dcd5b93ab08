//! Deadlines on every level of the wheel (ms, s, min, h, days, beyond the
//! ~2.2-year span) fire exactly on time as the wheel cascades.
use runtime_core::runtime::Builder;
use runtime_core::time::{self, sleep_until, Duration, Instant};

#[test]
fn cascade_across_every_level() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let offsets = [
            Duration::from_millis(1),
            Duration::from_millis(63),
            Duration::from_millis(64),
            Duration::from_millis(65),
            Duration::from_millis(4_097),
            Duration::from_secs(7),
            Duration::from_secs(5 * 60 + 3),
            Duration::from_secs(3 * 3600 + 17),
            Duration::from_secs(2 * 86_400 + 1),
            Duration::from_secs(400 * 86_400),
            // Beyond the wheel's span: filed at the top level and re-filed
            // once per rotation until in range.
            Duration::from_secs(3 * 365 * 86_400),
        ];
        let mut handles = Vec::new();
        // Spawn in reverse order so insertion order differs from deadline order.
        for off in offsets.iter().rev() {
            let deadline = start + *off;
            handles.push(runtime_core::spawn(async move {
                sleep_until(deadline).await;
                Instant::now()
            }));
        }
        for (h, off) in handles.into_iter().zip(offsets.iter().rev()) {
            assert_eq!(h.await.unwrap(), start + *off, "timer at +{off:?}");
        }
        assert_eq!(time::registered_timers(), 0);
    });
}

#[test]
fn advance_jumps_fire_everything_due() {
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = [10u64, 70, 5000, 300_000, 7_200_000]
            .into_iter()
            .map(|ms| {
                runtime_core::spawn(async move {
                    sleep_until(start + Duration::from_millis(ms)).await;
                    ms
                })
            })
            .collect();
        // Let the tasks register, then jump by hand over all deadlines.
        runtime_core::task::yield_now().await;
        time::advance(Duration::from_secs(3 * 3600)).await;
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(Instant::now(), start + Duration::from_secs(3 * 3600));
    });
}
