//! Timer rows: many sleeps registered and fired, register+cancel churn, and
//! resident bytes per pending timer.

use super::{rt, runtime};
use crate::measure::{iterate, proc_status_kib, Args, Metric, Outcome};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Tasks in `timers_fire`; each awaits [`SLEEPS_PER_TASK`] sleeps at once.
pub const FIRE_TASKS: usize = 1_000;
/// Concurrent sleeps per task in `timers_fire` (1,000 × 1,000 = 1M).
pub const SLEEPS_PER_TASK: usize = 1_000;
/// Register+cancel pairs per iteration of `timer_cancel_churn`.
pub const CHURN: usize = 100_000;
/// Tasks sharing the churn.
pub const CHURN_TASKS: usize = 4;

/// Polls `fut` exactly once (registering a timer) and reports whether it
/// was still pending.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> impl Future<Output = bool> + '_ {
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        Poll::Ready(Pin::new(&mut *fut).poll(cx).is_pending())
    })
}

/// 1M sleeps of 1-10 ms (spread evenly), registered concurrently by 1,000
/// tasks of 1,000 sleeps each, all awaited until fired.
///
/// The checksum counts a task's sleeps only if the task waited at least as
/// long as its longest sleep (10 ms): sleeps that completed at once would
/// give 0 for that task, and the sides' checksums would disagree.
pub fn timers_fire(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let tasks: Vec<_> = (0..FIRE_TASKS)
                .map(|t| {
                    rt::task::spawn(async move {
                        let start = std::time::Instant::now();
                        let sleeps = (0..SLEEPS_PER_TASK).map(|i| {
                            let ms = 1 + ((t * SLEEPS_PER_TASK + i) % 10) as u64;
                            rt::time::sleep(Duration::from_millis(ms))
                        });
                        let fired = futures::future::join_all(sleeps).await.len() as u64;
                        if start.elapsed() >= Duration::from_millis(10) {
                            fired
                        } else {
                            0
                        }
                    })
                })
                .collect();
            let mut fired = 0;
            for t in tasks {
                fired += t.await.unwrap();
            }
            fired
        })
    })
}

/// 100,000 sleeps of one minute, each polled once (registered) and dropped
/// (cancelled), by 4 tasks.
pub fn timer_cancel_churn(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let tasks: Vec<_> = (0..CHURN_TASKS)
                .map(|_| {
                    rt::task::spawn(async {
                        let mut pending = 0u64;
                        for _ in 0..CHURN / CHURN_TASKS {
                            let mut sleep = Box::pin(rt::time::sleep(Duration::from_secs(60)));
                            pending += u64::from(poll_once(&mut sleep).await);
                        }
                        pending
                    })
                })
                .collect();
            let mut pending = 0;
            for t in tasks {
                pending += t.await.unwrap();
            }
            pending
        })
    })
}

/// Bytes of RSS per registered, pending timer: `args.param` boxed one-hour
/// sleeps, each polled once, held until measured.
pub fn timer_rss(args: &Args) -> Outcome {
    let n = args.param as usize;
    let rt = runtime(args.workers);
    rt.block_on(async { rt::task::yield_now().await });
    let before = proc_status_kib("VmRSS");
    let (pending, sleeps) = rt.block_on(async {
        let mut sleeps = Vec::with_capacity(n);
        let mut pending = 0u64;
        for _ in 0..n {
            let mut s = Box::pin(rt::time::sleep(Duration::from_secs(3600)));
            pending += u64::from(poll_once(&mut s).await);
            sleeps.push(s);
        }
        (pending, sleeps)
    });
    let after = proc_status_kib("VmRSS");
    std::mem::forget(sleeps);
    std::mem::forget(rt);
    Outcome {
        metric: Metric::BytesPerItem,
        value: (after.saturating_sub(before) * 1024) as f64 / n as f64,
        samples: 1,
        checksum: pending,
    }
}
