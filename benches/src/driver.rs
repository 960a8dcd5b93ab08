//! The driver: runs every row for ours and the peer alternately (A B A B ...)
//! for several rounds, one fresh process per measurement, and gathers the
//! medians.
//!
//! Invariants:
//! - A row is reported only if every measurement of both sides returned the
//!   same checksum; otherwise it is marked as a mismatch and the run fails.
//! - A measurement that crashes or exceeds its time limit, or reports a
//!   metric other than its row's kind reads (bytes for a time row, or the
//!   reverse), marks the row as failed; the other rows still run.

use crate::measure::{median, Metric};
use crate::protocol;
use crate::registry::{Kind, Row, Runner};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the driver was asked to do.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Rounds per row; each round measures ours then the peer.
    pub rounds: usize,
    /// Sampling budget of each measurement.
    pub budget: Duration,
    /// Worker counts for rows that repeat per worker count.
    pub workers: Vec<usize>,
    /// Only rows whose id contains one of these (all if empty).
    pub filters: Vec<String>,
    /// A/A check: run the peer on both sides to see this machine's noise.
    pub aa: bool,
}

/// Aggregated results of one side of one row at one worker count.
#[derive(Clone, Debug, Default)]
pub struct SideResult {
    /// Per-round medians reported by the child processes.
    pub values: Vec<f64>,
    /// Largest peak RSS seen, KiB.
    pub peak_rss_kb: u64,
    /// Checksum every measurement agreed on.
    pub checksum: Option<u64>,
}

impl SideResult {
    /// Median over rounds.
    pub fn median(&self) -> f64 {
        median(&mut self.values.clone())
    }

    /// Largest relative distance of a round from the median.
    pub fn spread(&self) -> f64 {
        let m = self.median();
        self.values
            .iter()
            .map(|v| ((v - m) / m).abs())
            .fold(0.0, f64::max)
    }
}

/// One finished line of the table.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The row.
    pub row: Row,
    /// Worker threads both runtimes had.
    pub workers: usize,
    /// Our side, or the reason there is no number.
    pub ours: Result<SideResult, String>,
    /// The peer's side, or the reason there is no number.
    pub peer: Result<SideResult, String>,
}

impl Measured {
    /// ours / peer for time and memory, peer rate / our rate for
    /// throughput: below 1.0 means we are better in every case.
    pub fn ratio(&self) -> Option<f64> {
        match (&self.ours, &self.peer) {
            (Ok(o), Ok(p)) => Some(o.median() / p.median()),
            _ => None,
        }
    }
}

/// The side a child measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `runtime_core`.
    Ours,
    /// The peer runtime.
    Peer,
}

impl Side {
    /// Name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Peer => "peer",
        }
    }
}

/// Runs the plan over `rows`, reporting progress on stderr.
pub fn run(plan: &Plan, rows: &[Row]) -> Vec<Measured> {
    let max_workers = plan.workers.iter().copied().max().unwrap_or(1);
    let mut out = Vec::new();
    for row in rows {
        if !plan.filters.is_empty() && !plan.filters.iter().any(|f| row.id.contains(f.as_str())) {
            continue;
        }
        let worker_counts = if row.one_thread {
            vec![1]
        } else if row.per_worker {
            plan.workers.clone()
        } else {
            vec![max_workers]
        };
        for workers in worker_counts {
            let started = Instant::now();
            let mut ours: Result<SideResult, String> = Ok(SideResult::default());
            let mut peer: Result<SideResult, String> = Ok(SideResult::default());
            for _round in 0..plan.rounds {
                let first = if plan.aa { Side::Peer } else { Side::Ours };
                measure_into(&mut ours, row, first, workers, plan.budget);
                measure_into(&mut peer, row, Side::Peer, workers, plan.budget);
            }
            if let (Ok(o), Ok(p)) = (&ours, &peer) {
                if o.checksum != p.checksum {
                    let msg = format!(
                        "checksum mismatch: ours {:?}, {} {:?}",
                        o.checksum, row.peer_name, p.checksum
                    );
                    ours = Err(msg.clone());
                    peer = Err(msg);
                }
            }
            let m = Measured {
                row: row.clone(),
                workers,
                ours,
                peer,
            };
            eprintln!(
                "  {:<28} workers={:<3} ratio={:<8} ({:.1}s)",
                row.id,
                workers,
                m.ratio().map_or("-".to_string(), |r| format!("{r:.2}")),
                started.elapsed().as_secs_f64()
            );
            out.push(m);
        }
    }
    out
}

/// Runs one measurement and folds it into `acc` (an error sticks).
fn measure_into(
    acc: &mut Result<SideResult, String>,
    row: &Row,
    side: Side,
    workers: usize,
    budget: Duration,
) {
    let Ok(result) = acc else { return };
    let runner = match side {
        Side::Ours => row.ours,
        Side::Peer => row.peer,
    };
    match run_child(runner, row, side, workers, budget) {
        Ok(rep) if rep.outcome.metric != expected_metric(row.kind) => {
            *acc = Err(format!(
                "{} reported {}, the row reads {}",
                side.as_str(),
                rep.outcome.metric.as_str(),
                expected_metric(row.kind).as_str()
            ));
        }
        Ok(protocol::Reported { items: Some(n), .. }) if !items_match(row.kind, n) => {
            *acc = Err(format!(
                "{} handles {n} items per iteration, the row counts {} (constants drifted from foreign.rs?)",
                side.as_str(),
                row_items(row.kind).unwrap_or(0)
            ));
        }
        Ok(rep) => {
            if let Some(c) = result.checksum {
                if c != rep.outcome.checksum {
                    *acc = Err(format!(
                        "{} checksum changed between rounds: {c} vs {}",
                        side.as_str(),
                        rep.outcome.checksum
                    ));
                    return;
                }
            }
            result.checksum = Some(rep.outcome.checksum);
            result.values.push(rep.outcome.value);
            result.peak_rss_kb = result.peak_rss_kb.max(rep.peak_rss_kb);
        }
        Err(e) => *acc = Err(format!("{}: {e}", side.as_str())),
    }
}

/// The items per iteration a throughput row's rate is computed from.
fn row_items(kind: Kind) -> Option<u64> {
    match kind {
        Kind::Throughput { items, .. } => Some(items),
        Kind::Time | Kind::Memory { .. } => None,
    }
}

/// Whether a child's own item count (`items=`) agrees with the row's.
fn items_match(kind: Kind, reported: u64) -> bool {
    row_items(kind).map_or(true, |n| n == reported)
}

/// The metric a child must report for a row of `kind`.
fn expected_metric(kind: Kind) -> Metric {
    match kind {
        Kind::Time | Kind::Throughput { .. } => Metric::TimeNs,
        Kind::Memory { .. } => Metric::BytesPerItem,
    }
}

/// Starts the measuring process and waits for its result line.
fn run_child(
    runner: Runner,
    row: &Row,
    side: Side,
    workers: usize,
    budget: Duration,
) -> Result<protocol::Reported, String> {
    let mut cmd = match runner {
        Runner::Builtin(_) => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let mut c = Command::new(exe);
            c.args([
                "--child",
                &row.id,
                "--side",
                side.as_str(),
                "--workers",
                &workers.to_string(),
                "--budget-ms",
                &budget.as_millis().to_string(),
            ]);
            c
        }
        Runner::External { lang, program } => {
            let mut c = crate::foreign::command(lang, program);
            c.args([
                row.id.clone(),
                workers.to_string(),
                budget.as_millis().to_string(),
                row.param.to_string(),
            ]);
            c
        }
    };
    // Generous: warm-up + budget + minimum samples + a slow teardown.
    let limit = budget * 4 + Duration::from_secs(120);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {limit:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("exited with {status}"));
    }
    protocol::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throughput_row_refuses_a_different_item_count() {
        let tp = Kind::Throughput {
            items: 10_000,
            unit: "items",
        };
        assert!(items_match(tp, 10_000));
        assert!(!items_match(tp, 20_000));
        // Time and memory rows have no count to compare.
        assert!(items_match(Kind::Time, 5));
    }
}
