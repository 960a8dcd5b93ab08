//! Measures how late sleeps complete on an idle runtime: the distribution
//! of (completion time - deadline) over sequential sleeps of 1-20 ms.
//!
//! `cargo run --release -p runtime-core --example sleep_lateness [N]`
//!
//! A sleep never completes before its deadline (deadlines round up to the
//! wheel's 1 ms tick); lateness is that rounding plus wake-up latency.
use runtime_core::runtime::Builder;
use runtime_core::time::{sleep_until, Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    for (flavor, rt) in [
        (
            "current_thread",
            Builder::new_current_thread().build().unwrap(),
        ),
        ("multi_thread", Builder::new_multi_thread().build().unwrap()),
    ] {
        let mut late = rt.block_on(async {
            let mut rng = fastrand_like(42);
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let d = Duration::from_micros(1_000 + rng() % 19_000);
                let deadline = Instant::now() + d;
                sleep_until(deadline).await;
                let now = Instant::now();
                assert!(now >= deadline, "a sleep completed before its deadline");
                out.push(now - deadline);
            }
            out
        });
        late.sort();
        println!(
            "{flavor:>14}: {n} sleeps of 1-20 ms, lateness p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
            percentile(&late, 0.5),
            percentile(&late, 0.9),
            percentile(&late, 0.99),
            late[late.len() - 1]
        );
    }
}

/// A tiny xorshift, so the example needs no extra dependency.
fn fastrand_like(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}
