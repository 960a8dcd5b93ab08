//! Memory rows: resident bytes per idle task, measured as the RSS delta of a
//! fresh process (the driver starts one per measurement).
//!
//! `args.param` tasks are spawned, each parks for ever on
//! `std::future::pending()` after announcing itself; once all have been
//! polled once, `VmRSS` is read again. The runtime is leaked on purpose: the
//! process exits right after reporting, so teardown time is not measured.

use super::{rt, runtime};
use crate::measure::{proc_status_kib, wait_until, Args, Metric, Outcome};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// Bytes of RSS per task parked on a never-completing future.
pub fn idle_task_rss(args: &Args) -> Outcome {
    let n = args.param as usize;
    let rt = runtime(args.workers);
    // Let the workers start and settle before the baseline.
    rt.block_on(async { rt::task::yield_now().await });
    let parked = Arc::new(AtomicUsize::new(0));
    let before = proc_status_kib("VmRSS");
    for _ in 0..n {
        let parked = parked.clone();
        drop(rt.spawn(async move {
            parked.fetch_add(1, Relaxed);
            std::future::pending::<()>().await;
        }));
    }
    wait_until(Duration::from_secs(120), || parked.load(Relaxed) == n);
    let after = proc_status_kib("VmRSS");
    std::mem::forget(rt);
    Outcome {
        metric: Metric::BytesPerItem,
        value: (after.saturating_sub(before) * 1024) as f64 / n as f64,
        samples: 1,
        checksum: parked.load(Relaxed) as u64,
    }
}
