//! The rows measured by external programs: C (`benches/c/`, ours vs libuv)
//! and Python (`benches/py/`, ours vs asyncio / uvloop /
//! ThreadPoolExecutor).
//!
//! Each side is a program invoked as `PROGRAM ROW-ID WORKERS BUDGET-MS
//! PARAM` that prints one `BENCH-RESULT` line (`protocol.rs`). Both sides of
//! a row do the same work and report the same checksum (the driver refuses
//! rows whose checksums differ). `benches/run.sh` builds the C programs into
//! `$BENCH_C_DIR` and the Python virtualenv whose interpreter is
//! `$BENCH_PYTHON`; the defaults below match what it creates.
//!
//! Single-loop rows (`one_thread`) run once with one worker: libuv's loop
//! is one thread, so ours runs its current-thread flavor on the calling
//! thread (Python: the default one-worker setting is stated per row).

use crate::measure::thousands as th;
use crate::registry::{Group, Kind, Lang, Row, Runner};
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The command that runs `program` (arguments are appended by the driver).
pub fn command(lang: Lang, program: &str) -> Command {
    match lang {
        Lang::C => {
            let dir = std::env::var_os("BENCH_C_DIR")
                .map_or_else(|| root().join("target/bench-c"), PathBuf::from);
            Command::new(dir.join(program))
        }
        Lang::Python => {
            let py = std::env::var_os("BENCH_PYTHON")
                .map_or_else(|| root().join("benches/.venv/bin/python"), PathBuf::from);
            let mut c = Command::new(py);
            c.arg(root().join("benches/py").join(program));
            c
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn row(
    group: Group,
    id: &str,
    params: String,
    kind: Kind,
    one_thread: bool,
    ours: Runner,
    peer: Runner,
    peer_name: &'static str,
    target: f64,
) -> Row {
    Row {
        group,
        id: id.to_string(),
        params,
        kind,
        per_worker: !one_thread,
        param: 0,
        ours,
        peer,
        peer_name,
        one_thread,
        target,
    }
}

const C_OURS: Runner = Runner::External {
    lang: Lang::C,
    program: "bench_rt",
};
const C_UV: Runner = Runner::External {
    lang: Lang::C,
    program: "bench_uv",
};

/// Item counts, kept equal to the constants in `benches/c/common.h` and
/// `benches/py/common.py`: each program reports its own count (`items=`),
/// and the driver fails a row whose count differs from the one here.
pub const C_TIMERS: u64 = 1_000_000;
/// Cross-thread wakeups per iteration.
pub const C_WAKEUPS: u64 = 10_000;
/// Socketpair messages per iteration.
pub const C_PINGS: u64 = 20_000;
/// Thread-pool work items per iteration.
pub const C_WORK: u64 = 10_000;
/// CPU-bound chunks per iteration of the fan-out.
pub const C_CHUNKS: u64 = 64;
/// Python: sequential submit().result() calls per iteration.
pub const PY_SUBMIT: u64 = 2_000;
/// Python: Executor.map items per iteration.
pub const PY_MAP: u64 = 10_000;
/// Python: call_later timers per iteration.
pub const PY_TIMERS: u64 = 100_000;
/// Python: awaited spawns per iteration.
pub const PY_SPAWN: u64 = 1_000;
/// Python: sleep(0) round trips per iteration.
pub const PY_SLEEP0: u64 = 2_000;

fn tp(items: u64, unit: &'static str) -> Kind {
    Kind::Throughput { items, unit }
}

fn c_rows() -> Vec<Row> {
    let c =
        |id, params, kind, one| row(Group::C, id, params, kind, one, C_OURS, C_UV, "libuv", 1.0);
    vec![
        c(
            "c_million_timers",
            format!(
                "{} one-shot timers, timeouts 1-100 ms (10,000 per ms), all fired; one loop thread",
                th(C_TIMERS)
            ),
            tp(C_TIMERS, "timers"),
            true,
        ),
        c(
            "c_wakeups",
            format!(
                "{} wakeups from a foreign thread, each handled (sem round trip): rt_waker_wake vs uv_async_send; one loop thread",
                th(C_WAKEUPS)
            ),
            tp(C_WAKEUPS, "wakeups"),
            true,
        ),
        c(
            "c_socketpair_pingpong",
            format!(
                "{} 1-byte messages over a socketpair, fd callbacks on both ends: rt_fd_watch vs uv_poll; one loop thread",
                th(C_PINGS)
            ),
            tp(C_PINGS, "msgs"),
            true,
        ),
        c(
            "c_pool_work",
            format!(
                "{} tiny work items in caller-owned storage + completion callback each: rt_queue_work vs uv_queue_work (pools of 4); one loop thread",
                th(C_WORK)
            ),
            tp(C_WORK, "items"),
            true,
        ),
        c(
            "c_pool_tasks",
            format!(
                "{} tiny work items, one heap object each: rt_spawn_blocking + rt_task_on_complete + rt_task_free vs uv_queue_work on a malloc'd request freed in after_work (pools of 4); one loop thread",
                th(C_WORK)
            ),
            tp(C_WORK, "items"),
            true,
        ),
        c(
            "c_cpu_fanout",
            format!(
                "{} CPU-bound chunks (500,000 xorshift steps each): rt_spawn on N workers vs uv_queue_work with UV_THREADPOOL_SIZE=N",
                C_CHUNKS
            ),
            tp(C_CHUNKS, "chunks"),
            false,
        ),
    ]
}

fn py(program: &'static str) -> Runner {
    Runner::External {
        lang: Lang::Python,
        program,
    }
}

fn py_rows() -> Vec<Row> {
    let ours = py("ours.py");
    // The executor rows scale with max_workers; the event-loop rows compare
    // one asyncio loop with a one-worker runtime.
    let r = |id: &str, params, kind, peer, name, target| {
        let one_thread = !id.starts_with("py_submit") && !id.starts_with("py_executor");
        row(
            Group::Python,
            id,
            params,
            kind,
            one_thread,
            ours,
            py(peer),
            name,
            target,
        )
    };
    vec![
        r(
            "py_submit_result",
            format!(
                "{} × Executor.submit(tiny).result(), one after another",
                th(PY_SUBMIT)
            ),
            tp(PY_SUBMIT, "calls"),
            "stdlib.py",
            "ThreadPoolExecutor",
            0.5,
        ),
        r(
            "py_executor_map",
            format!("sum(Executor.map(tiny, range({})))", th(PY_MAP)),
            tp(PY_MAP, "items"),
            "stdlib.py",
            "ThreadPoolExecutor",
            0.5,
        ),
        r(
            "py_call_later/asyncio",
            format!(
                "{} call_later timers, delays 0-10 ms, all fired: rt.call_later vs asyncio default loop",
                th(PY_TIMERS)
            ),
            tp(PY_TIMERS, "timers"),
            "stdlib.py",
            "asyncio",
            1.0,
        ),
        r(
            "py_spawn_await",
            format!(
                "{} × await rt.spawn(tiny) vs await loop.run_in_executor(None, tiny), inside asyncio.run",
                th(PY_SPAWN)
            ),
            tp(PY_SPAWN, "awaits"),
            "stdlib.py",
            "asyncio",
            1.0,
        ),
        r(
            "py_sleep0",
            format!(
                "{} × await rt.sleep(0) vs await asyncio.sleep(0), inside asyncio.run",
                th(PY_SLEEP0)
            ),
            tp(PY_SLEEP0, "round trips"),
            "stdlib.py",
            "asyncio",
            1.0,
        ),
        r(
            "py_call_later/uvloop",
            format!(
                "{} call_later timers, delays 0-10 ms, all fired: rt.call_later vs uvloop",
                th(PY_TIMERS)
            ),
            tp(PY_TIMERS, "timers"),
            "uvloop_side.py",
            "uvloop",
            1.0,
        ),
    ]
}

/// The C and Python rows, in report order.
pub fn rows() -> Vec<Row> {
    let mut v = c_rows();
    v.extend(py_rows());
    v
}
