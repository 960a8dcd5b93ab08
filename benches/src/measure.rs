//! What a benchmark function sees and returns inside a child process.
//!
//! A benchmark function receives [`Args`] (worker count, time budget and its
//! row parameter), builds its own runtime, and returns an [`Outcome`]: the
//! median of its per-iteration samples plus a checksum proving the work that
//! was done. The driver compares checksums of both sides and refuses a row
//! whose sides disagree.
//!
//! Invariants:
//! - Every timed iteration returns the same checksum; [`iterate`] panics
//!   otherwise, so a side that silently drops work cannot produce a number.
//! - Warm-up iterations are run and checked but never timed.

use std::time::{Duration, Instant};

/// Parameters of one measurement, as passed on the child's command line.
#[derive(Clone, Debug)]
pub struct Args {
    /// Worker threads of the runtime under test.
    pub workers: usize,
    /// How long to keep sampling after warm-up (at least [`MIN_SAMPLES`]).
    pub budget: Duration,
    /// The row's own parameter (foreign threads, task count...), 0 if none.
    pub param: u64,
}

/// The quantity an [`Outcome`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Median wall-clock nanoseconds of one iteration.
    TimeNs,
    /// Bytes of resident memory per item (task, timer...).
    BytesPerItem,
}

impl Metric {
    /// Stable name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::TimeNs => "time_ns",
            Metric::BytesPerItem => "bytes_per_item",
        }
    }

    /// Inverse of [`Metric::as_str`].
    pub fn parse(s: &str) -> Option<Metric> {
        match s {
            "time_ns" => Some(Metric::TimeNs),
            "bytes_per_item" => Some(Metric::BytesPerItem),
            _ => None,
        }
    }
}

/// The result of one benchmark function in one process.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What `value` is.
    pub metric: Metric,
    /// Median over this process's samples.
    pub value: f64,
    /// How many samples `value` is the median of.
    pub samples: usize,
    /// Work proof: equal on both sides for the same row.
    pub checksum: u64,
}

/// Fewest timed iterations wanted, even when the budget runs out first
/// (unless ten budgets are spent; at least one warm sample is always taken).
pub const MIN_SAMPLES: usize = 5;
/// Most timed iterations, so very fast rows do not run for ever.
pub const MAX_SAMPLES: usize = 100_000;

/// Runs `iteration` for warm-up, then times it repeatedly for `args.budget`.
///
/// `iteration` returns the checksum of the work it did; it must be the same
/// every time.
pub fn iterate(args: &Args, mut iteration: impl FnMut() -> u64) -> Outcome {
    let first = Instant::now();
    let checksum = iteration();
    let first = first.elapsed();
    if first >= args.budget * 10 {
        // Pathologically slow: one iteration already took ten budgets, so
        // time just one more rather than spend minutes more. Never report
        // the first one: it pays for first-touch page faults and lazily
        // started threads (`timers_fire` read 1.05-1.42 s cold against
        // 0.58-0.78 s warm with `--budget-ms 100`), and the other side of
        // the row, if it stays under ten budgets, reports warm iterations.
        let t = Instant::now();
        assert_eq!(iteration(), checksum, "checksum changed between iterations");
        return Outcome {
            metric: Metric::TimeNs,
            value: t.elapsed().as_nanos() as f64,
            samples: 1,
            checksum,
        };
    }
    let warm_until = Instant::now() + args.budget / 5;
    while Instant::now() < warm_until {
        assert_eq!(iteration(), checksum, "checksum changed during warm-up");
    }

    let mut samples = Vec::new();
    let start = Instant::now();
    // Stop once the budget is spent and MIN_SAMPLES are in, or, for
    // pathologically slow iterations, once ten budgets are spent.
    while samples.len() < MAX_SAMPLES
        && (start.elapsed() < args.budget
            || (samples.len() < MIN_SAMPLES && start.elapsed() < args.budget * 10))
    {
        let t = Instant::now();
        let sum = iteration();
        samples.push(t.elapsed().as_nanos() as f64);
        assert_eq!(sum, checksum, "checksum changed between iterations");
    }
    Outcome {
        metric: Metric::TimeNs,
        value: median(&mut samples),
        samples: samples.len(),
        checksum,
    }
}

/// Median of `v` (sorts it). `NaN` for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Burns about 10 µs of CPU while letting the OS schedule others, like
/// Tokio's benchmark helper of the same name (`STALL_DUR`).
pub fn stall() {
    const STALL: Duration = Duration::from_micros(10);
    let now = Instant::now();
    while now.elapsed() < STALL {
        std::thread::yield_now();
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), 0 if absent.
pub fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Waits until `cond` holds, polling every millisecond; panics after `limit`.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not reached in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `12800` as `12,800`, for parameters in the table.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_thousands() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&mut []).is_nan());
        assert_eq!(thousands(12_800), "12,800");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn iterate_rejects_changing_checksums() {
        let args = Args {
            workers: 1,
            budget: Duration::from_millis(1),
            param: 0,
        };
        let mut n = 0;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            iterate(&args, || {
                n += 1;
                n
            })
        }));
        assert!(r.is_err());
        let ok = iterate(&args, || 7);
        assert_eq!(ok.checksum, 7);
        assert!(ok.samples >= 1);
    }

    #[test]
    fn a_slow_first_iteration_is_never_reported() {
        // The first iteration takes over ten budgets, the next ones nothing:
        // the reported value is a warm one.
        let args = Args {
            workers: 1,
            budget: Duration::from_millis(1),
            param: 0,
        };
        let mut first = true;
        let out = iterate(&args, || {
            if std::mem::take(&mut first) {
                std::thread::sleep(Duration::from_millis(50));
            }
            3
        });
        assert_eq!(out.checksum, 3);
        assert_eq!(out.samples, 1);
        assert!(
            out.value < 20e6,
            "reported the cold iteration: {} ns",
            out.value
        );
    }
}
