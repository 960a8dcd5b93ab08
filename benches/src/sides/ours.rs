//! Side "ours": `runtime_core`, multi-thread scheduler.

pub use runtime_core as rt;

/// One-shot channel used by `ping_pong`: each side's own.
pub use rt::sync::oneshot;

/// The last runtime `runtime` built, for `report_metrics`.
static LAST: std::sync::Mutex<Option<rt::runtime::Handle>> = std::sync::Mutex::new(None);

/// Builds the multi-thread runtime under test with `workers` workers.
pub fn runtime(workers: usize) -> rt::runtime::Runtime {
    let rt = rt::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("build runtime_core runtime");
    *LAST.lock().unwrap() = Some(rt.handle().clone());
    rt
}

/// Prints the scheduler counters of the last runtime built (stderr).
pub fn report_metrics() {
    let Some(h) = LAST.lock().unwrap().clone() else {
        return;
    };
    let m = h.metrics();
    let sum = |f: &dyn Fn(usize) -> u64| (0..m.num_workers()).map(f).sum::<u64>();
    eprintln!(
        "BENCH-SCHED polls={} steals={} steal_ops={} parks={} unparks={} local_schedule={} remote_schedule={}",
        m.total_polls(),
        m.total_steals(),
        sum(&|w| m.worker_steal_operations(w)),
        m.total_parks(),
        sum(&|w| m.worker_unpark_count(w)),
        sum(&|w| m.worker_local_schedule_count(w)),
        m.remote_schedule_count()
    );
}

#[path = "../rows/memory.rs"]
pub mod memory;
#[path = "../rows/net.rs"]
pub mod net;
#[path = "../rows/remote.rs"]
pub mod remote;
#[path = "../rows/sched.rs"]
pub mod sched;
#[path = "../rows/sync.rs"]
pub mod sync;
#[path = "../rows/timers.rs"]
pub mod timers;
