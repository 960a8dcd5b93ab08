//! Fault injection: the OS refuses to create threads.
//!
//! Two real ways to make `pthread_create` fail:
//! - a huge `Builder::thread_stack_size` (`1 << 46`, 64 TiB): the stack
//!   mapping cannot be made, `pthread_create` returns EAGAIN/ENOMEM for every
//!   runtime thread (workers and blocking-pool threads alike);
//! - a lowered `RLIMIT_AS` with 1 GiB stacks, placed (and checked) so that
//!   exactly one more such thread fits: the *second* thread fails, which
//!   exercises the partial paths (some workers started, then a failure; a
//!   blocking pool that has a thread but cannot add one).
//!
//! Checked:
//! - a multi-thread `build()` returns the OS error instead of panicking,
//!   both when the first worker fails and when a later one does, and leaves
//!   no thread (`/proc/self/task`) and no fd (`/proc/self/fd`) behind;
//! - `spawn_blocking` on a runtime whose pool cannot start any thread
//!   completes its `JoinHandle` with a cancelled `JoinError` (from
//!   `block_on`, from a task, and through `Runtime::spawn_blocking`), never
//!   hangs; the runtime keeps running other tasks; on a paused clock the
//!   failed task does not keep the clock from auto-advancing;
//! - a pool that has one thread but cannot start another queues the task,
//!   which runs as soon as that thread is free (not lost, not cancelled);
//! - a thread name with a NUL byte (`std` panics on it) is an
//!   `InvalidInput` error from `build()` / a failed blocking-pool thread;
//! - once the limit is restored, the same runtime starts blocking threads
//!   again and new runtimes build; counts are back to the baseline.
//!
//! Where an injection does not work (a 64 TiB stack can be mapped with
//! `vm.overcommit_memory = 1`; sanitizers reserve terabytes of address
//! space), that section is skipped with a note on stderr; the rest runs.
//!
//! One `#[test]` on purpose: the address-space limit and the thread count
//! are process-wide. The body runs on a watchdog thread, so a hang fails
//! the test (after 120 s; hang detection only) instead of stalling CI.
use runtime_core::runtime::{Builder, Runtime};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

const HUGE_STACK: usize = 1 << 46;
const GIB: u64 = 1 << 30;
const HANG: Duration = Duration::from_secs(120);

#[path = "support/fault.rs"]
mod fault;
use fault::{fds, threads, threads_settled, SoftLimit};

/// Virtual memory of the process now (`/proc/self/statm`, first field).
fn vm_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page
}

/// Lowers the soft `RLIMIT_AS` for the guard's lifetime.
struct AsLimit;

impl AsLimit {
    fn lower_to(soft: u64) -> SoftLimit {
        SoftLimit::lower(libc::RLIMIT_AS, soft)
    }

    /// Room for exactly one more thread with a `GIB` stack (and its malloc
    /// arena), not two. Checked, not assumed.
    fn one_more_gib_thread() -> SoftLimit {
        let limit = AsLimit::lower_to(vm_bytes() + GIB + GIB / 2);
        let (tx, rx) = mpsc::channel::<()>();
        let first = std::thread::Builder::new()
            .stack_size(GIB as usize)
            .spawn(move || {
                let _ = rx.recv();
            })
            .expect("calibration: one 1 GiB thread must fit under the limit");
        let second = std::thread::Builder::new()
            .stack_size(GIB as usize)
            .spawn(|| {});
        assert!(
            second.is_err(),
            "calibration: a second 1 GiB thread must not fit"
        );
        drop(tx);
        first.join().unwrap();
        limit
    }
}

fn assert_thread_error(what: &str, e: &io::Error) {
    let code = e.raw_os_error();
    assert!(
        code == Some(libc::EAGAIN) || code == Some(libc::ENOMEM),
        "{what}: expected EAGAIN/ENOMEM, got {e:?}"
    );
}

fn assert_invalid_input(what: &str, e: &io::Error) {
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{what}: {e:?}");
}

/// `build()` must return the error, not panic, and leave nothing behind.
fn build_fails(what: &str, b: &mut Builder) {
    build_fails_with(what, b, assert_thread_error)
}

fn build_fails_with(what: &str, b: &mut Builder, check: fn(&str, &io::Error)) {
    let (base_fds, base_threads) = (fds(), threads());
    let r = catch_unwind(AssertUnwindSafe(|| b.build()))
        .unwrap_or_else(|_| panic!("{what}: build() panicked"));
    match r {
        Ok(_) => panic!("{what}: build() succeeded"),
        Err(e) => check(what, &e),
    }
    assert_eq!(
        threads_settled(base_threads),
        base_threads,
        "{what}: threads left behind"
    );
    assert_eq!(fds(), base_fds, "{what}: fds left behind");
}

fn assert_cancelled<T: std::fmt::Debug>(what: &str, r: Result<T, runtime_core::task::JoinError>) {
    match r {
        Ok(v) => panic!("{what}: ran ({v:?}) although no thread could be started"),
        Err(e) => assert!(e.is_cancelled(), "{what}: {e:?}"),
    }
}

/// A pool that cannot start any thread: every `spawn_blocking` completes
/// its `JoinHandle` with a cancelled `JoinError`.
fn blocking_pool_without_threads() {
    let rt = Builder::new_current_thread()
        .thread_stack_size(HUGE_STACK)
        .build()
        .expect("a current-thread runtime starts no thread");
    let outside = rt.spawn_blocking(|| 1);
    rt.block_on(async {
        assert_cancelled(
            "spawn_blocking from block_on",
            runtime_core::spawn_blocking(|| 2).await,
        );
        let from_task = runtime_core::spawn(async { runtime_core::spawn_blocking(|| 3).await });
        assert_cancelled("spawn_blocking from a task", from_task.await.unwrap());
        assert_cancelled("Runtime::spawn_blocking", outside.await);
        // Ordinary tasks still run.
        assert_eq!(runtime_core::spawn(async { 4 }).await.unwrap(), 4);
    });
    drop(rt);

    // Paused clock: a blocking task in flight stops auto-advance; a failed
    // one must not, or this one-hour sleep would really take an hour.
    let rt = Builder::new_current_thread()
        .thread_stack_size(HUGE_STACK)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        assert_cancelled(
            "spawn_blocking, paused clock",
            runtime_core::spawn_blocking(|| 5).await,
        );
        runtime_core::time::sleep(Duration::from_secs(3600)).await;
    });
}

/// A pool with one thread that cannot start a second: the task waits in the
/// queue and runs when the thread is free; after the limit is lifted the
/// pool grows again.
fn blocking_pool_cannot_grow(rt: &Runtime) {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (first, second) = {
        let _limit = AsLimit::one_more_gib_thread();
        let first = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            "first"
        });
        started_rx
            .recv_timeout(HANG)
            .expect("the first blocking task never started");
        // No room for a second thread: queued behind the first.
        let second = rt.spawn_blocking(|| "second");
        std::thread::sleep(Duration::from_millis(50));
        assert!(!second.is_finished(), "the second task cannot have run yet");
        (first, second)
    };
    release_tx.send(()).unwrap();
    rt.block_on(async {
        assert_eq!(first.await.unwrap(), "first");
        assert_eq!(
            second.await.expect("queued task lost or cancelled"),
            "second"
        );
    });
    // Limit lifted: two blocking tasks can run at the same time again.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let hs: Vec<_> = (0..2)
        .map(|i| {
            let b = barrier.clone();
            rt.spawn_blocking(move || {
                b.wait();
                i
            })
        })
        .collect();
    rt.block_on(async {
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i);
        }
    });
}

/// A thread name with a NUL byte, which `std` panics on, fails like any
/// other thread-creation error.
fn nul_byte_in_thread_name() {
    let mut multi = Builder::new_multi_thread();
    multi.worker_threads(2);
    for mut b in [multi, Builder::new_current_thread()] {
        build_fails_with(
            "thread_name with a NUL byte",
            b.thread_name("bad\0name"),
            assert_invalid_input,
        );
    }
    // Generated names: the second worker's is bad, the first worker has
    // started by then and must be stopped again.
    let n = std::sync::atomic::AtomicUsize::new(0);
    build_fails_with(
        "thread_name_fn, second name bad",
        Builder::new_multi_thread()
            .worker_threads(3)
            .thread_name_fn(
                move || match n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
                    1 => "bad\0name".to_string(),
                    _ => "good".to_string(),
                },
            ),
        assert_invalid_input,
    );
    // The blocking pool cannot start a thread with such a name.
    let rt = Builder::new_current_thread()
        .thread_name_fn(|| "bad\0name".to_string())
        .build()
        .unwrap();
    let h = rt.spawn_blocking(|| 1);
    rt.block_on(async { assert_cancelled("spawn_blocking, bad thread name", h.await) });
}

/// Whether a thread with a `HUGE_STACK` really cannot be created here (it
/// can with `vm.overcommit_memory = 1` or under some sanitizers).
fn huge_stack_fails() -> bool {
    match std::thread::Builder::new()
        .stack_size(HUGE_STACK)
        .spawn(|| {})
    {
        Err(_) => true,
        Ok(t) => {
            t.join().unwrap();
            false
        }
    }
}

/// ASan and TSan reserve terabytes of address space for their shadow
/// memory; an `RLIMIT_AS` placed just above it is not something they
/// survive, so those sections are skipped there.
fn under_sanitizer() -> bool {
    vm_bytes() > (1 << 40)
}

fn body() {
    let (base_fds, base_threads) = (fds(), threads());

    if huge_stack_fails() {
        // Every worker fails to start.
        build_fails(
            "multi-thread, 64 TiB stacks",
            Builder::new_multi_thread()
                .worker_threads(4)
                .thread_stack_size(HUGE_STACK),
        );
        blocking_pool_without_threads();
    } else {
        eprintln!("skipped: a 64 TiB thread stack can be mapped on this machine");
    }
    nul_byte_in_thread_name();
    assert_eq!(
        threads_settled(base_threads),
        base_threads,
        "threads left behind"
    );

    if under_sanitizer() {
        eprintln!("skipped: RLIMIT_AS sections (sanitizer shadow memory)");
    } else {
        // The first worker starts, the second cannot.
        {
            let _limit = AsLimit::one_more_gib_thread();
            build_fails(
                "multi-thread, second worker fails",
                Builder::new_multi_thread()
                    .worker_threads(4)
                    .thread_stack_size(GIB as usize),
            );
        }
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_stack_size(GIB as usize)
            .build()
            .unwrap();
        blocking_pool_cannot_grow(&rt);
        drop(rt);
    }

    // Runtimes build normally once threads can be created.
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(async { runtime_core::spawn_blocking(|| 6).await.unwrap() }),
        6
    );
    drop(rt);

    assert_eq!(
        threads_settled(base_threads),
        base_threads,
        "threads left behind"
    );
    assert_eq!(fds(), base_fds, "fds left behind");
}

#[test]
fn thread_creation_failures_surface_as_errors() {
    let (tx, rx) = mpsc::channel();
    let watched = std::thread::spawn(move || {
        let r = catch_unwind(body);
        let _ = tx.send(());
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    });
    match rx.recv_timeout(HANG) {
        Ok(()) => watched.join().unwrap(),
        Err(_) => panic!("the fault-injection test hung for {HANG:?}"),
    }
}
