//! Turns measurements into the markdown table, and writes it with the
//! machine description into a marked block of `BENCHMARKS.md`.
//!
//! `BENCHMARKS.md` is part hand-written (how to read it, analysis of misses)
//! and part generated. The generated part lives between
//! `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers; only that block is
//! replaced, so the analysis survives a re-run. The default run writes the
//! `results` block; a run with an explicit `--workers` list writes the
//! `scaling` block.

use crate::driver::{Measured, SideResult};
use crate::measure::median;
use crate::registry::Kind;
use std::fmt::Write as _;
use std::process::Command;

/// The machine and run the numbers come from.
#[derive(Clone, Debug)]
pub struct Context {
    /// Logical CPUs the process may use.
    pub cores: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// `MemTotal` in GiB.
    pub mem_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
    /// Peer version(s).
    pub peers: String,
    /// `git rev-parse --short HEAD` (+dirty mark).
    pub commit: String,
    /// UTC date and time of the run.
    pub date: String,
    /// The command line as typed.
    pub command: String,
    /// Rounds and budget, in words.
    pub plan: String,
}

fn cmd_output(prog: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(prog).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Context {
    /// Reads the machine description; `command` and `plan` come from the CLI.
    pub fn gather(command: String, plan: String) -> Context {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0.0);
        let dirty = cmd_output("git", &["status", "--porcelain", "--untracked-files=no"])
            .map(|s| {
                if s.is_empty() {
                    ""
                } else {
                    " (with uncommitted changes)"
                }
            })
            .unwrap_or("");
        Context {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            mem_gib: mem_kib / (1024.0 * 1024.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            rustc: cmd_output("rustc", &["-V"]).unwrap_or_else(|| "unknown".into()),
            peers: format!("tokio {}", env!("BENCH_TOKIO_VERSION")),
            commit: cmd_output("git", &["rev-parse", "--short", "HEAD"])
                .unwrap_or_else(|| "unknown".into())
                + dirty,
            date: cmd_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
                .unwrap_or_else(|| "unknown".into()),
            command,
            plan,
        }
    }
}

/// Human form of nanoseconds.
fn fmt_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Human form of a rate.
fn fmt_rate(per_sec: f64, unit: &str) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M {unit}/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} K {unit}/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} {unit}/s")
    }
}

fn fmt_value(kind: Kind, side: &Result<SideResult, String>) -> String {
    let Ok(s) = side else { return "error".into() };
    let v = s.median();
    match kind {
        Kind::Time => fmt_time(v),
        Kind::Throughput { items, unit } => fmt_rate(items as f64 / (v / 1e9), unit),
        Kind::Memory { unit } => format!("{v:.0} B/{unit}"),
    }
}

fn fmt_rss(side: &Result<SideResult, String>) -> String {
    match side {
        Ok(s) => format!("{:.1}", s.peak_rss_kb as f64 / 1024.0),
        Err(_) => "-".into(),
    }
}

/// The verdict column: plain about misses.
fn verdict(m: &Measured) -> String {
    match m.ratio() {
        Some(r) if r <= m.row.target => "ok".into(),
        Some(r) => {
            let spread = match (&m.ours, &m.peer) {
                (Ok(o), Ok(p)) => o.spread().max(p.spread()),
                _ => 0.0,
            };
            let what = if m.row.target == 1.0 {
                format!("worse than {}", m.row.peer_name)
            } else {
                format!("target ratio <= {:.2}", m.row.target)
            };
            if spread >= r / m.row.target - 1.0 {
                format!("**MISS** ({what}, but within the rounds' spread)")
            } else {
                format!("**MISS** ({what})")
            }
        }
        None => {
            let why = m
                .ours
                .as_ref()
                .err()
                .or(m.peer.as_ref().err())
                .cloned()
                .unwrap_or_default();
            format!("**ERROR**: {}", why.replace('|', "/"))
        }
    }
}

/// The markdown table of `results`.
pub fn table(results: &[Measured]) -> String {
    let mut s = String::new();
    let mut group = None;
    let mut peer = None;
    for m in results {
        if group != Some(m.row.group) || peer != Some(m.row.peer_name) {
            if group != Some(m.row.group) {
                let _ = writeln!(s, "\n### {}\n", m.row.group.title());
            } else {
                s.push('\n');
            }
            group = Some(m.row.group);
            peer = Some(m.row.peer_name);
            let _ = writeln!(
                s,
                "| benchmark | parameters | workers | ours (median) | {} (median) | ratio | verdict | spread ours / peer | peak RSS MiB ours / peer |",
                m.row.peer_name
            );
            let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|---:|---:|");
        }
        let spread = match (&m.ours, &m.peer) {
            (Ok(o), Ok(p)) => format!("±{:.0}% / ±{:.0}%", o.spread() * 100.0, p.spread() * 100.0),
            _ => "-".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            m.row.id,
            m.row.params,
            m.workers,
            fmt_value(m.row.kind, &m.ours),
            fmt_value(m.row.kind, &m.peer),
            m.ratio().map_or("-".into(), |r| format!("{r:.2}")),
            verdict(m),
            spread,
            fmt_rss(&m.ours),
            fmt_rss(&m.peer),
        );
    }
    s
}

/// A short summary: geometric mean of ratios and the list of misses.
pub fn summary(results: &[Measured]) -> String {
    let mut ratios: Vec<f64> = results.iter().filter_map(Measured::ratio).collect();
    let mut s = String::new();
    if !ratios.is_empty() {
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let _ = writeln!(
            s,
            "Rows: {}; geometric mean ratio {:.2}; median ratio {:.2} (below 1.00 = ours better).",
            ratios.len(),
            geo,
            median(&mut ratios)
        );
    }
    let misses: Vec<String> = results
        .iter()
        .filter(|m| m.ratio().is_some_and(|r| r > m.row.target))
        .map(|m| {
            format!(
                "`{}` at {} worker(s) ({:.2})",
                m.row.id,
                m.workers,
                m.ratio().unwrap_or(f64::NAN)
            )
        })
        .collect();
    if misses.is_empty() {
        let _ = writeln!(s, "\nNo row misses its peer.");
    } else {
        let _ = writeln!(
            s,
            "\n**Rows where we miss the target (ratio > 1.00, or the row's own target):** {}.",
            misses.join(", ")
        );
    }
    let errors: Vec<&str> = results
        .iter()
        .filter(|m| m.ratio().is_none())
        .map(|m| m.row.id.as_str())
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(
            s,
            "\n**Rows that failed to produce a number:** {}.",
            errors.join(", ")
        );
    }
    s
}

/// The whole generated block (without markers).
pub fn block(ctx: &Context, results: &[Measured], title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## {title}\n");
    let _ = writeln!(s, "- Date: {}", ctx.date);
    let _ = writeln!(
        s,
        "- Machine: {} logical cores, {}, {:.1} GiB RAM, Linux {}",
        ctx.cores, ctx.cpu, ctx.mem_gib, ctx.kernel
    );
    let _ = writeln!(s, "- Toolchain: {}; peers: {}", ctx.rustc, ctx.peers);
    let _ = writeln!(s, "- Commit: {}", ctx.commit);
    let _ = writeln!(s, "- Command: `{}`", ctx.command);
    let _ = writeln!(s, "- Plan: {}", ctx.plan);
    let _ = writeln!(s);
    s.push_str(&summary(results));
    s.push_str(&table(results));
    s
}

/// Replaces (or appends) the `name` block of `doc` with `body`.
pub fn splice(doc: &str, name: &str, body: &str) -> String {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let fresh = format!("{begin}\n{}\n{end}", body.trim_end());
    match (doc.find(&begin), doc.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{}{}", &doc[..b], fresh, &doc[e + end.len()..]),
        _ => format!("{}\n\n{fresh}\n", doc.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_block() {
        let doc = "intro\n<!-- results:begin -->\nold\n<!-- results:end -->\nanalysis\n";
        let out = splice(doc, "results", "new");
        assert_eq!(
            out,
            "intro\n<!-- results:begin -->\nnew\n<!-- results:end -->\nanalysis\n"
        );
    }

    #[test]
    fn splice_appends_missing_block() {
        let out = splice("intro\n", "scaling", "table");
        assert!(out.starts_with("intro\n\n<!-- scaling:begin -->\ntable\n<!-- scaling:end -->"));
    }

    #[test]
    fn units() {
        assert_eq!(fmt_time(1_500_000.0), "1.50 ms");
        assert_eq!(fmt_rate(2_500_000.0, "tasks"), "2.50 M tasks/s");
    }
}
