//! The one-line result protocol between the driver and a measuring process.
//!
//! Every measurement runs in its own process, so that peak RSS, allocator
//! state and thread pools of one side never leak into the other. The process
//! prints exactly one line starting with [`PREFIX`], followed by
//! space-separated `key=value` pairs:
//!
//! ```text
//! BENCH-RESULT metric=time_ns value=81234.5 samples=37 checksum=10000 peak_rss_kb=5120
//! ```
//!
//! - `metric`: `time_ns` (median nanoseconds per iteration) or
//!   `bytes_per_item` (resident bytes per task/timer);
//! - `value`: the median of that process's samples;
//! - `samples`: how many samples the median is over;
//! - `checksum`: proof of the work done; both sides of a row must agree;
//! - `peak_rss_kb`: the process's `VmHWM` when it finished;
//! - `items` (optional): the items one iteration handles, by the program's
//!   own constants; the driver checks it against the row's count, so a
//!   C or Python program whose constants drifted from `foreign.rs` fails
//!   its row instead of being reported at the wrong rate.
//!
//! Today the measuring process is this binary re-executed with `--child`.
//! The C rows (ours vs libuv) and Python rows (ours vs asyncio/uvloop) are
//! meant to be separate programs that print the same line, so the driver
//! can run them unchanged (see `registry.rs`).

use crate::measure::{Metric, Outcome};

/// Marks the result line in a child's standard output.
pub const PREFIX: &str = "BENCH-RESULT";

/// One parsed result line.
#[derive(Clone, Debug)]
pub struct Reported {
    /// The benchmark function's outcome.
    pub outcome: Outcome,
    /// Peak resident set of the measuring process, KiB.
    pub peak_rss_kb: u64,
    /// Items per iteration, if the process said (`items=`).
    pub items: Option<u64>,
}

/// Formats the result line a child prints.
pub fn format(outcome: &Outcome, peak_rss_kb: u64) -> String {
    format!(
        "{PREFIX} metric={} value={} samples={} checksum={} peak_rss_kb={}",
        outcome.metric.as_str(),
        outcome.value,
        outcome.samples,
        outcome.checksum,
        peak_rss_kb
    )
}

/// Finds and parses the result line in a child's whole standard output.
pub fn parse(stdout: &str) -> Result<Reported, String> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(PREFIX))
        .ok_or_else(|| format!("no {PREFIX} line in output"))?;
    let mut metric = None;
    let mut value = None;
    let mut samples = None;
    let mut checksum = None;
    let mut peak_rss_kb = None;
    let mut items = None;
    for pair in line.split_whitespace() {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("malformed pair {pair:?}"))?;
        let bad = |_| format!("bad value for {k}: {v:?}");
        match k {
            "metric" => metric = Some(Metric::parse(v).ok_or_else(|| format!("bad metric {v}"))?),
            "value" => value = Some(v.parse::<f64>().map_err(|e| bad(e.to_string()))?),
            "samples" => samples = Some(v.parse::<usize>().map_err(|e| bad(e.to_string()))?),
            "checksum" => checksum = Some(v.parse::<u64>().map_err(|e| bad(e.to_string()))?),
            "peak_rss_kb" => peak_rss_kb = Some(v.parse::<u64>().map_err(|e| bad(e.to_string()))?),
            "items" => items = Some(v.parse::<u64>().map_err(|e| bad(e.to_string()))?),
            _ => {} // unknown keys are ignored so producers can add fields
        }
    }
    let missing = |k: &str| format!("missing {k}");
    Ok(Reported {
        outcome: Outcome {
            metric: metric.ok_or_else(|| missing("metric"))?,
            value: value.ok_or_else(|| missing("value"))?,
            samples: samples.ok_or_else(|| missing("samples"))?,
            checksum: checksum.ok_or_else(|| missing("checksum"))?,
        },
        peak_rss_kb: peak_rss_kb.ok_or_else(|| missing("peak_rss_kb"))?,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let o = Outcome {
            metric: Metric::BytesPerItem,
            value: 96.5,
            samples: 1,
            checksum: 1_000_000,
        };
        let line = format!("noise\n{}\n", format(&o, 4096));
        let r = parse(&line).unwrap();
        assert_eq!(r.outcome.metric, Metric::BytesPerItem);
        assert_eq!(r.outcome.value, 96.5);
        assert_eq!(r.outcome.checksum, 1_000_000);
        assert_eq!(r.peak_rss_kb, 4096);
        assert_eq!(r.items, None);
    }

    #[test]
    fn items_is_read_when_given() {
        let line =
            "BENCH-RESULT metric=time_ns value=5.0 samples=3 checksum=7 peak_rss_kb=1 items=64";
        assert_eq!(parse(line).unwrap().items, Some(64));
        assert!(parse(&line.replace("items=64", "items=x")).is_err());
    }

    #[test]
    fn missing_line_is_an_error() {
        assert!(parse("nothing here").is_err());
        assert!(parse("BENCH-RESULT metric=time_ns value=1").is_err());
    }
}
