//! `runtime-bench`: runs `runtime_core` side by side with the runtime its
//! users would otherwise pick, and reports ratios.
//!
//! ```text
//! runtime-bench [--quick] [--rounds N] [--budget-ms MS] [--workers 1,2,4]
//!               [--filter SUBSTR[,SUBSTR...]] [--out PATH | --no-write] [--list]
//!               [--aa]
//! ```
//!
//! `--aa` is an A/A check: the peer runs in both columns, so the ratios show
//! this machine's noise; it never writes `BENCHMARKS.md`.
//!
//! Without `--workers` every per-worker row runs at 1, 2 and all cores. Each
//! measurement is a fresh process (this binary with `--child ...`, see
//! `protocol.rs`), run for ours and the peer alternately for `--rounds`
//! rounds. The table goes to stdout and into a marked block of
//! `BENCHMARKS.md` (see `report.rs`). Exit status is non-zero if any row
//! failed or its sides' checksums disagreed.
//!
//! Design: `registry.rs` lists the rows; `sides/` compiles the same row
//! sources (`rows/`) once per runtime; `measure.rs` is what runs inside a
//! child; `driver.rs` alternates and aggregates; `report.rs` renders.

mod driver;
mod foreign;
mod measure;
mod protocol;
mod registry;
mod report;
mod sides;

use driver::{Plan, Side};
use measure::{proc_status_kib, Args};
use registry::Runner;
use std::process::ExitCode;
use std::time::Duration;

/// Parsed command line of the driver.
struct Options {
    quick: bool,
    rounds: Option<usize>,
    budget_ms: Option<u64>,
    workers: Option<Vec<usize>>,
    filters: Vec<String>,
    out: Option<String>,
    write: bool,
    list: bool,
    aa: bool,
}

const USAGE: &str =
    "usage: runtime-bench [--quick] [--rounds N] [--budget-ms MS] [--workers 1,2,4,...] \
[--filter SUBSTR,...] [--out PATH | --no-write] [--list] [--aa]";

fn parse_list<T: std::str::FromStr>(s: &str, what: &str) -> Result<Vec<T>, String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.trim().parse().map_err(|_| format!("bad {what}: {x:?}")))
        .collect()
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        rounds: None,
        budget_ms: None,
        workers: None,
        filters: Vec::new(),
        out: None,
        write: true,
        list: false,
        aa: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--quick" => o.quick = true,
            "--rounds" => o.rounds = Some(value("--rounds")?.parse().map_err(|_| "bad --rounds")?),
            "--budget-ms" => {
                o.budget_ms = Some(
                    value("--budget-ms")?
                        .parse()
                        .map_err(|_| "bad --budget-ms")?,
                )
            }
            "--workers" => o.workers = Some(parse_list(&value("--workers")?, "worker count")?),
            "--filter" => o
                .filters
                .extend(parse_list::<String>(&value("--filter")?, "filter")?),
            "--out" => o.out = Some(value("--out")?),
            "--no-write" => o.write = false,
            "--list" => o.list = true,
            "--aa" => o.aa = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if o.workers
        .as_ref()
        .is_some_and(|w| w.is_empty() || w.contains(&0))
    {
        return Err("--workers needs positive counts".into());
    }
    if o.rounds == Some(0) {
        return Err("--rounds must be at least 1".into());
    }
    Ok(o)
}

/// `--child ROW --side ours|peer --workers N --budget-ms MS`: one measurement.
fn child(args: &[String]) -> ExitCode {
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .unwrap_or_else(|| panic!("child needs {k}"))
    };
    let row = registry::find(get("--child")).unwrap_or_else(|| panic!("no row {}", get("--child")));
    let side = match get("--side").as_str() {
        "ours" => Side::Ours,
        "peer" => Side::Peer,
        s => panic!("bad side {s}"),
    };
    let bench_args = Args {
        workers: get("--workers").parse().expect("workers"),
        budget: Duration::from_millis(get("--budget-ms").parse().expect("budget")),
        param: row.param,
    };
    let runner = match side {
        Side::Ours => row.ours,
        Side::Peer => row.peer,
    };
    let Runner::Builtin(f) = runner else {
        panic!("row {} is run by an external program", row.id)
    };
    let outcome = f(&bench_args);
    println!("{}", protocol::format(&outcome, proc_status_kib("VmHWM")));
    if std::env::var_os("BENCH_METRICS").is_some() {
        report_usage(side);
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Skip teardown (some rows leak their runtime on purpose).
    std::process::exit(0)
}

/// With `BENCH_METRICS` set, a child also prints (to stderr) its CPU time
/// and context switches, and for our side the scheduler's counters, all over
/// the whole process (warm-up included): for comparing what the two sides
/// do per iteration where no profiler is at hand.
fn report_usage(side: Side) {
    // SAFETY: `getrusage` only writes the struct we pass, which is
    // zero-initialisable plain data.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    eprintln!(
        "BENCH-USAGE user_ms={:.0} sys_ms={:.0} vcsw={} ivcsw={}",
        ms(ru.ru_utime),
        ms(ru.ru_stime),
        ru.ru_nvcsw,
        ru.ru_nivcsw
    );
    if matches!(side, Side::Ours) {
        sides::ours::report_metrics();
    }
}

fn default_workers() -> Vec<usize> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut w = vec![1, 2, all];
    w.sort_unstable();
    w.dedup();
    w
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return child(&args);
    }
    let opts = match parse_options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rows = registry::rows();
    if opts.list {
        for r in &rows {
            println!("{:<28} {}", r.id, r.params);
        }
        return ExitCode::SUCCESS;
    }
    let scaling = opts.workers.is_some();
    let plan = Plan {
        rounds: opts.rounds.unwrap_or(if opts.quick { 3 } else { 7 }),
        budget: Duration::from_millis(opts.budget_ms.unwrap_or(if opts.quick { 100 } else { 500 })),
        workers: opts.workers.clone().unwrap_or_else(default_workers),
        filters: opts.filters.clone(),
        aa: opts.aa,
    };
    let command = std::iter::once("runtime-bench".to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let plan_words = format!(
        "{} rounds per row, ours and peer alternating (A B A B ...), each measurement a fresh process \
         sampling for {} ms after warm-up; worker counts {:?}; values are medians of per-round medians",
        plan.rounds,
        plan.budget.as_millis(),
        plan.workers
    );
    eprintln!("runtime-bench: {plan_words}");
    let started = std::time::Instant::now();
    let results = driver::run(&plan, &rows);
    eprintln!(
        "runtime-bench: done in {:.0}s",
        started.elapsed().as_secs_f64()
    );

    let ctx = report::Context::gather(command, plan_words);
    let title = if opts.aa {
        "A/A check (the peer in both columns)"
    } else if scaling {
        "Scaling run"
    } else {
        "Results"
    };
    let block = report::block(&ctx, &results, title);
    println!("{block}");

    if opts.write && !opts.aa {
        let path = opts.out.clone().unwrap_or_else(|| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md").to_string()
        });
        let doc = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
        let name = if scaling { "scaling" } else { "results" };
        if let Err(e) = std::fs::write(&path, report::splice(&doc, name, &block)) {
            eprintln!("runtime-bench: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("runtime-bench: wrote the {name} block of {path}");
    }
    if results.iter().any(|m| m.ratio().is_none()) {
        eprintln!("runtime-bench: some rows failed (see the table)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = parse_options(&strings(&[
            "--quick",
            "--workers",
            "1,2,16",
            "--filter",
            "spawn,yield",
        ]))
        .unwrap();
        assert!(o.quick);
        assert_eq!(o.workers, Some(vec![1, 2, 16]));
        assert_eq!(o.filters, vec!["spawn", "yield"]);
        assert!(parse_options(&strings(&["--workers", "0"])).is_err());
        assert!(parse_options(&strings(&["--bogus"])).is_err());
    }

    #[test]
    fn row_ids_are_unique_and_findable() {
        let rows = registry::rows();
        for r in &rows {
            assert_eq!(rows.iter().filter(|x| x.id == r.id).count(), 1, "{}", r.id);
            assert!(registry::find(&r.id).is_some());
        }
    }
}
