//! Many random deadlines on a paused clock fire exactly at their deadline,
//! hence in deadline order.
use runtime_core::runtime::Builder;
use runtime_core::time::{sleep_until, Duration, Instant};
use std::sync::{Arc, Mutex};

#[test]
fn random_deadlines_fire_in_order_exactly_on_time() {
    let n: u64 = 100_000;
    let rt = Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let fired = rt.block_on(async move {
        let start = Instant::now();
        let fired = Arc::new(Mutex::new(Vec::with_capacity(n as usize)));
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let mut handles = Vec::with_capacity(n as usize);
        for _ in 0..n {
            // Spread over ms .. days so every wheel level is exercised.
            let ms = match rng.u8(0..4) {
                0 => rng.u64(0..64),
                1 => rng.u64(0..5_000),
                2 => rng.u64(0..3_600_000),
                _ => rng.u64(0..10 * 86_400_000),
            };
            let deadline = start + Duration::from_millis(ms);
            let fired = fired.clone();
            handles.push(runtime_core::spawn(async move {
                sleep_until(deadline).await;
                let now = Instant::now();
                assert_eq!(now, deadline, "fired at the wrong time");
                fired.lock().unwrap().push(deadline);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        Arc::try_unwrap(fired).unwrap().into_inner().unwrap()
    });
    assert_eq!(fired.len() as u64, n);
    assert!(
        fired.windows(2).all(|w| w[0] <= w[1]),
        "completions out of deadline order"
    );
}
