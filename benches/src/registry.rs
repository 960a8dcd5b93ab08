//! The list of rows: what is measured, with which parameters, against whom.
//!
//! A row names one benchmark shape, the function for each side, how to read
//! its number ([`Kind`]) and whether it is repeated for every worker count.
//! Row ids (`name` or `name/param`) are stable: the driver passes them to the
//! child process, and `--filter` matches them.
//!
//! Adding a row: write the shape once in `src/rows/<area>.rs` against
//! `super::rt`, add `#[path]` includes of that file to both `sides/ours.rs`
//! and `sides/peer.rs`, and push a [`Row`] here with `pair!` (below).
//!
//! The C rows (ours vs libuv) and the Python rows (ours vs asyncio / uvloop /
//! ThreadPoolExecutor) are separate programs printing the `BENCH-RESULT`
//! line of `protocol.rs` ([`Runner::External`]); they are listed in
//! `foreign.rs`. The driver, the alternation and the report are shared.

use crate::measure::{thousands as th, Args, Outcome};
use crate::sides::{ours, peer};

/// A benchmark function: runs in a child process, returns its outcome.
pub type BenchFn = fn(&Args) -> Outcome;

/// Which language binding a row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `runtime_core` vs Tokio.
    Rust,
    /// `libruntime` (the C ABI) vs libuv.
    C,
    /// The `runtime` Python module vs the standard library and uvloop.
    Python,
}

impl Group {
    /// Heading used in the report.
    pub fn title(self) -> &'static str {
        match self {
            Group::Rust => "Rust: runtime_core vs Tokio (both multi-thread, same worker count)",
            Group::C => "C: libruntime vs libuv (benches/c/)",
            Group::Python => {
                "Python: the runtime module vs asyncio / uvloop / ThreadPoolExecutor (benches/py/)"
            }
        }
    }
}

/// How a row's number is read and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Median time per iteration; ratio = ours / peer.
    Time,
    /// `items` per iteration shown as a rate; ratio = peer rate / our rate
    /// (numerically ours time / peer time).
    Throughput {
        /// Items per iteration.
        items: u64,
        /// What an item is, e.g. `tasks`.
        unit: &'static str,
    },
    /// Resident bytes per item; ratio = ours / peer.
    Memory {
        /// What an item is, e.g. `task`.
        unit: &'static str,
    },
}

/// How one side of a row is run.
#[derive(Clone, Copy, Debug)]
pub enum Runner {
    /// A function of this binary, run by re-executing it with `--child`.
    Builtin(BenchFn),
    /// A separate program (see `foreign.rs`), run as
    /// `PROGRAM ROW-ID WORKERS BUDGET-MS PARAM`.
    External {
        /// Which language's build directory or interpreter runs it.
        lang: Lang,
        /// The C binary's name in the C build directory, or the Python
        /// script's path relative to `benches/py/`.
        program: &'static str,
    },
}

/// The language of an [`Runner::External`] program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// A C binary under `$BENCH_C_DIR` (default `target/bench-c`).
    C,
    /// A script under `benches/py/` run by `$BENCH_PYTHON` (default
    /// `benches/.venv/bin/python`).
    Python,
}

/// One row of the table (before expansion over worker counts).
#[derive(Clone, Debug)]
pub struct Row {
    /// Language group.
    pub group: Group,
    /// Stable id, `name` or `name/param`.
    pub id: String,
    /// Parameters in words, for the table.
    pub params: String,
    /// How to read the number.
    pub kind: Kind,
    /// Repeated for each worker count (otherwise run once at the largest).
    pub per_worker: bool,
    /// The row's own parameter passed in [`Args::param`].
    pub param: u64,
    /// Our side.
    pub ours: Runner,
    /// The peer's side.
    pub peer: Runner,
    /// The peer's name, for the table header.
    pub peer_name: &'static str,
    /// Run once with one worker, whatever the plan's worker counts (rows
    /// that compare single event loops).
    pub one_thread: bool,
    /// The ratio at or below which the row meets its target (1.0: at least
    /// as good as the peer; 0.5: twice as good).
    pub target: f64,
}

/// The two sides of a shape compiled from the same row file.
macro_rules! pair {
    ($($path:ident)::+) => {
        (
            Runner::Builtin(ours::$($path)::+ as BenchFn),
            Runner::Builtin(peer::$($path)::+ as BenchFn),
        )
    };
}

fn rust_row(
    id: String,
    params: String,
    kind: Kind,
    per_worker: bool,
    param: u64,
    sides: (Runner, Runner),
) -> Row {
    Row {
        group: Group::Rust,
        id,
        params,
        kind,
        per_worker,
        param,
        ours: sides.0,
        peer: sides.1,
        peer_name: "tokio",
        one_thread: false,
        target: 1.0,
    }
}

/// Every row, in report order.
pub fn rows() -> Vec<Row> {
    use crate::sides::ours::{net, remote, sched, sync, timers};
    let s = |x: &str| x.to_string();
    let mut rows = vec![
        rust_row(
            s("spawn_many_local"),
            format!("{} spawns inside block_on", th(sched::NUM_SPAWN as u64)),
            Kind::Time,
            true,
            0,
            pair!(sched::spawn_many_local),
        ),
        rust_row(
            s("spawn_many_remote_idle"),
            format!(
                "{} spawns from outside, await all",
                th(sched::NUM_SPAWN as u64)
            ),
            Kind::Time,
            true,
            0,
            pair!(sched::spawn_many_remote_idle),
        ),
        rust_row(
            s("spawn_many_remote_busy1"),
            format!(
                "{} remote spawns; 2×workers tasks yield+10µs stall",
                th(sched::NUM_SPAWN as u64)
            ),
            Kind::Time,
            true,
            0,
            pair!(sched::spawn_many_remote_busy1),
        ),
        rust_row(
            s("spawn_many_remote_busy2"),
            format!(
                "{} remote spawns; workers chains spawn+10µs stall",
                th(sched::NUM_SPAWN_BUSY2 as u64)
            ),
            Kind::Time,
            true,
            0,
            pair!(sched::spawn_many_remote_busy2),
        ),
        rust_row(
            s("ping_pong"),
            format!("{} pings over 2 oneshots each", th(sched::NUM_PINGS as u64)),
            Kind::Time,
            true,
            0,
            pair!(sched::ping_pong),
        ),
        rust_row(
            s("yield_many"),
            format!(
                "{} tasks × {} yields",
                sched::YIELD_TASKS,
                th(sched::NUM_YIELD as u64)
            ),
            Kind::Time,
            true,
            0,
            pair!(sched::yield_many),
        ),
        rust_row(
            s("chained_spawn"),
            format!("{} deep", th(sched::CHAIN_DEPTH as u64)),
            Kind::Time,
            true,
            0,
            pair!(sched::chained_spawn),
        ),
    ];
    for threads in [1u64, 2, 4, 8] {
        rows.push(rust_row(
            format!("remote_spawn/{threads}"),
            format!(
                "{} detached tasks from {threads} foreign thread(s)",
                th(remote::TOTAL_TASKS as u64)
            ),
            Kind::Throughput {
                items: remote::TOTAL_TASKS as u64,
                unit: "tasks",
            },
            true,
            threads,
            pair!(remote::remote_spawn),
        ));
    }
    rows.push(rust_row(
        s("spawn_blocking"),
        s("1,000 tiny closures from a task, await all"),
        Kind::Throughput {
            items: 1_000,
            unit: "calls",
        },
        true,
        0,
        pair!(sched::spawn_blocking_many),
    ));
    rows.push(rust_row(
        s("mpsc_contended"),
        format!(
            "{} senders × {} msgs, bounded({}), 1 receiver",
            sync::SENDERS,
            th(sync::MSGS_PER_SENDER),
            th(sync::CAPACITY as u64)
        ),
        Kind::Throughput {
            items: sync::SENDERS as u64 * sync::MSGS_PER_SENDER,
            unit: "msgs",
        },
        true,
        0,
        pair!(sync::mpsc_contended),
    ));
    rows.push(rust_row(
        s("mutex_uncontended"),
        format!("1 task × {} lock+increment", th(sync::LOCKS)),
        Kind::Throughput {
            items: sync::LOCKS,
            unit: "locks",
        },
        true,
        0,
        pair!(sync::mutex_uncontended),
    ));
    rows.push(rust_row(
        s("mutex_contended"),
        format!(
            "{} tasks × {} lock+increment, yield under the lock every 100th",
            sync::LOCK_TASKS,
            th(sync::LOCKS_PER_TASK)
        ),
        Kind::Throughput {
            items: sync::LOCK_TASKS * sync::LOCKS_PER_TASK,
            unit: "locks",
        },
        true,
        0,
        pair!(sync::mutex_contended),
    ));
    rows.push(rust_row(
        s("semaphore_contended"),
        format!(
            "{} tasks × {} acquire of a {}-permit Semaphore, yield under it every 100th",
            sync::LOCK_TASKS,
            th(sync::LOCKS_PER_TASK),
            sync::SEM_PERMITS
        ),
        Kind::Throughput {
            items: sync::LOCK_TASKS * sync::LOCKS_PER_TASK,
            unit: "acquires",
        },
        true,
        0,
        pair!(sync::semaphore_contended),
    ));
    rows.push(rust_row(
        s("timers_fire"),
        format!(
            "{} tasks × {} sleeps of 1-10 ms joined (1M timers), all fired",
            th(timers::FIRE_TASKS as u64),
            th(timers::SLEEPS_PER_TASK as u64)
        ),
        Kind::Time,
        true,
        0,
        pair!(timers::timers_fire),
    ));
    rows.push(rust_row(
        s("timer_cancel_churn"),
        format!(
            "{} × (register a 60 s sleep, cancel it) over {} tasks",
            th(timers::CHURN as u64),
            timers::CHURN_TASKS
        ),
        Kind::Throughput {
            items: timers::CHURN as u64,
            unit: "timers",
        },
        true,
        0,
        pair!(timers::timer_cancel_churn),
    ));
    for conns in [1u64, 64, 1_000] {
        let trips = net::round_trips(conns);
        rows.push(rust_row(
            format!("tcp_echo/{conns}"),
            format!(
                "{} connection(s) × {} round trips of 1 KiB, loopback",
                th(conns),
                th(trips)
            ),
            Kind::Throughput {
                items: conns * trips,
                unit: "round trips",
            },
            true,
            conns,
            pair!(net::tcp_echo),
        ));
    }
    rows.push(rust_row(
        s("idle_task_rss"),
        s("1,000,000 tasks parked on pending(); RSS delta / task"),
        Kind::Memory { unit: "task" },
        false,
        1_000_000,
        pair!(memory::idle_task_rss),
    ));
    rows.push(rust_row(
        s("timer_rss"),
        s("1,000,000 boxed 1 h sleeps, each polled once; RSS delta / timer"),
        Kind::Memory { unit: "timer" },
        false,
        1_000_000,
        pair!(timers::timer_rss),
    ));
    rows.extend(crate::foreign::rows());
    rows
}

/// Finds a row by id.
pub fn find(id: &str) -> Option<Row> {
    rows().into_iter().find(|r| r.id == id)
}
