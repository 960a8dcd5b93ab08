//! The demo `make demo` runs: the runtime's main job in one screen.
//!
//! It starts a multi-thread runtime, fans CPU-bound work out over every
//! core from inside a task, submits work from foreign threads (the way C
//! and Python code will), runs blocking work on the blocking pool, cancels
//! a task, and prints what the scheduler did (polls, steals, parks).
use runtime_core::runtime::Builder;
use runtime_core::task::JoinSet;
use std::time::{Duration, Instant};

fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

fn main() {
    let rt = Builder::new_multi_thread()
        .thread_name("demo-worker")
        .build()
        .expect("failed to build the runtime");
    let workers = rt.metrics().num_workers();
    println!("runtime: {workers} worker threads (one per core)");

    // 1. CPU-bound fan-out from inside a task: the workers steal it.
    let t0 = Instant::now();
    let longest = rt.block_on(async {
        let mut set = JoinSet::new();
        for chunk in 0..256u64 {
            set.spawn(async move {
                (chunk * 4096 + 1..(chunk + 1) * 4096)
                    .map(|n| (collatz_steps(n), n))
                    .max()
                    .unwrap()
            });
        }
        let mut best = (0, 0);
        while let Some(r) = set.join_next().await {
            best = best.max(r.expect("task failed"));
        }
        best
    });
    println!(
        "fan-out: longest Collatz chain below {} starts at {} ({} steps), {:?}",
        256 * 4096,
        longest.1,
        longest.0,
        t0.elapsed()
    );

    // 2. Foreign threads submit work through a Handle, as C and Python do.
    let handle = rt.handle().clone();
    let submitters: Vec<_> = (0..4u64)
        .map(|t| {
            let h = handle.clone();
            std::thread::spawn(move || {
                let joins: Vec<_> = (0..2500u64)
                    .map(|i| h.spawn(async move { t * 2500 + i }))
                    .collect();
                h.block_on(async move {
                    let mut s = 0;
                    for j in joins {
                        s += j.await.unwrap();
                    }
                    s
                })
            })
        })
        .collect();
    let total: u64 = submitters.into_iter().map(|t| t.join().unwrap()).sum();
    println!("foreign threads: 4 x 2,500 tasks submitted and joined, checksum {total}");

    // 3. Blocking work on the blocking pool, and a cancelled task.
    let (blocking, cancelled) = rt.block_on(async {
        let b = runtime_core::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(20));
            "slept 20 ms on the blocking pool"
        });
        let forever = runtime_core::spawn(std::future::pending::<()>());
        forever.abort();
        (b.await.unwrap(), forever.await.unwrap_err().is_cancelled())
    });
    println!("blocking: {blocking}; aborted task cancelled: {cancelled}");

    let m = rt.metrics();
    println!(
        "scheduler: {} tasks spawned, {} polls, {} stolen, {} parks, {} scheduled remotely",
        m.spawned_tasks_count(),
        m.total_polls(),
        m.total_steals(),
        m.total_parks(),
        m.remote_schedule_count()
    );
    rt.shutdown_timeout(Duration::from_secs(1));
    println!("shutdown: clean");
}
