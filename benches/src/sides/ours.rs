//! Side "ours": `runtime_core`, multi-thread scheduler.

pub use runtime_core as rt;

/// One-shot channel used by `ping_pong`: each side's own.
pub use rt::sync::oneshot;

/// Builds the multi-thread runtime under test with `workers` workers.
pub fn runtime(workers: usize) -> rt::runtime::Runtime {
    rt::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("build runtime_core runtime")
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
