//! Stress: runtimes created and shut down over and over leave nothing
//! behind: no threads (`/proc/self/task`), no fds (`/proc/self/fd`), and no
//! unbounded memory growth (RSS from `/proc/self/statm`, with a bounded
//! slack for allocator caching).
//!
//! One test per file on purpose: other tests running in parallel in the
//! same process would make the thread and fd counts meaningless.
//!
//! Short mode (default): 100 cycles. `STRESS_LONG=1`: 1,000 cycles.
use runtime_core::runtime::Builder;
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var_os("STRESS_LONG").is_some_and(|v| v == "1")
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).unwrap().count()
}

fn threads() -> usize {
    count_dir("/proc/self/task")
}

fn fds() -> usize {
    count_dir("/proc/self/fd")
}

fn rss_bytes() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    pages * page
}

fn cycle(i: usize) {
    let mut b = if i % 2 == 0 {
        Builder::new_multi_thread()
    } else {
        Builder::new_current_thread()
    };
    if i % 2 == 0 {
        b.worker_threads(3);
    }
    let rt = b.max_blocking_threads(2).build().unwrap();
    let h = rt.spawn(async { 1 });
    let blocking = rt.spawn_blocking(|| 2);
    // A task still pending at shutdown, and one whose JoinHandle is gone.
    drop(rt.spawn(std::future::pending::<()>()));
    let sum = rt.block_on(async move {
        let inner = runtime_core::spawn(async { 3 });
        h.await.unwrap() + blocking.await.unwrap() + inner.await.unwrap()
    });
    assert_eq!(sum, 6);
    match i % 3 {
        0 => drop(rt),
        1 => rt.shutdown_timeout(Duration::from_secs(10)),
        _ => rt.shutdown_background(),
    }
}

/// Waits until the thread count falls back to `limit` (background
/// shutdown returns before its threads exit).
fn settle_threads(limit: usize) -> usize {
    let start = Instant::now();
    loop {
        let n = threads();
        if n <= limit || start.elapsed() > Duration::from_secs(30) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn create_and_shutdown_runtimes_without_growth() {
    let cycles = if long() { 1_000 } else { 100 };
    // Warm up: first-use allocations (thread-locals, allocator arenas).
    for i in 0..6 {
        cycle(i);
    }
    // The test harness's main thread and this test's thread remain.
    let base_threads = settle_threads(2);
    let base_fds = fds();
    let base_rss = rss_bytes();
    for i in 0..cycles {
        cycle(i);
    }
    let t = settle_threads(base_threads);
    assert!(t <= base_threads, "threads grew: {base_threads} -> {t}");
    let f = fds();
    assert!(f <= base_fds, "fds grew: {base_fds} -> {f}");
    let rss = rss_bytes();
    // Allocator caching may keep some pages; a leak of even one worker
    // stack (>= 2 MiB) per cycle would blow far past this.
    let slack = 32 << 20;
    assert!(
        rss <= base_rss + slack,
        "RSS grew by {} KiB over {cycles} cycles",
        (rss - base_rss) / 1024
    );
}
