//! Scheduler rows: the shapes and constants of Tokio's
//! `benches/rt_multi_threaded.rs`, written once and compiled for both sides.
//!
//! Each function builds a fresh runtime with `args.workers` workers, runs the
//! shape through [`iterate`] and returns a checksum that proves every task
//! ran (a count or a sum of values that travelled through the runtime).

use super::{oneshot, rt, runtime};
use crate::measure::{iterate, stall, Args, Outcome};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};

/// Spawns per iteration in the `spawn_many_*` rows (Tokio's `NUM_SPAWN`).
pub const NUM_SPAWN: usize = 10_000;
/// Remote spawns per iteration in `spawn_many_remote_busy2`.
pub const NUM_SPAWN_BUSY2: usize = 1_000;
/// Round trips in `ping_pong`.
pub const NUM_PINGS: usize = 1_000;
/// Tasks in `yield_many`.
pub const YIELD_TASKS: usize = 200;
/// Yields per task in `yield_many`.
pub const NUM_YIELD: usize = 1_000;
/// Depth of `chained_spawn`.
pub const CHAIN_DEPTH: usize = 1_000;

/// 10,000 `spawn`s issued inside `block_on` (as Tokio's bench does); the last
/// task to finish signals a std channel that `block_on` waits on.
pub fn spawn_many_local(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    let (tx, rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    iterate(args, || {
        rem.store(NUM_SPAWN, Relaxed);
        rt.block_on(async {
            for _ in 0..NUM_SPAWN {
                let tx = tx.clone();
                let rem = rem.clone();
                rt::task::spawn(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
            rx.recv().unwrap();
        });
        // The signal fires only on the NUM_SPAWN-th decrement.
        assert_eq!(rem.load(Relaxed), 0);
        NUM_SPAWN as u64
    })
}

/// Spawns `n` empty tasks from outside the runtime through `handle`, then
/// awaits every JoinHandle in `block_on`; returns the sum of their outputs.
fn spawn_remote_and_join(rt: &rt::runtime::Runtime, handle: &rt::runtime::Handle, n: usize) -> u64 {
    let handles: Vec<_> = (0..n)
        .map(|i| handle.spawn(async move { i as u64 }))
        .collect();
    rt.block_on(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    })
}

/// 10,000 spawns from outside an idle runtime, then await them all.
pub fn spawn_many_remote_idle(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    let handle = rt.handle().clone();
    iterate(args, || spawn_remote_and_join(&rt, &handle, NUM_SPAWN))
}

/// Like `spawn_many_remote_idle`, while 2 × workers tasks loop on
/// `yield_now` + a 10 µs stall (yield is a lower-priority notification).
pub fn spawn_many_remote_busy1(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    let handle = rt.handle().clone();
    let flag = Arc::new(AtomicBool::new(true));
    for _ in 0..2 * args.workers {
        let flag = flag.clone();
        rt.spawn(async move {
            while flag.load(Relaxed) {
                rt::task::yield_now().await;
                stall();
            }
        });
    }
    let out = iterate(args, || spawn_remote_and_join(&rt, &handle, NUM_SPAWN));
    flag.store(false, Relaxed);
    out
}

/// Keeps spawning a successor that stalls 10 µs, while `flag` holds.
fn busy_chain(flag: Arc<AtomicBool>) {
    rt::task::spawn(async move {
        if flag.load(Relaxed) {
            stall();
            busy_chain(flag);
        }
    });
}

/// 1,000 spawns from outside while `workers` chains of stalling tasks keep
/// spawning successors (spawn is a higher-priority notification).
pub fn spawn_many_remote_busy2(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    let handle = rt.handle().clone();
    let flag = Arc::new(AtomicBool::new(true));
    for _ in 0..args.workers {
        let flag = flag.clone();
        rt.spawn(async move { busy_chain(flag) });
    }
    let out = iterate(args, || {
        spawn_remote_and_join(&rt, &handle, NUM_SPAWN_BUSY2)
    });
    flag.store(false, Relaxed);
    out
}

/// 1,000 pings: each ping task spawns a pong task and they exchange a value
/// over two one-shot channels; the last ping to finish signals `block_on`.
pub fn ping_pong(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    let sum = Arc::new(AtomicUsize::new(0));
    iterate(args, || {
        let done_tx = done_tx.clone();
        let rem = rem.clone();
        let total = sum.clone();
        rem.store(NUM_PINGS, Relaxed);
        total.store(0, Relaxed);
        rt.block_on(async {
            rt::task::spawn(async move {
                for i in 0..NUM_PINGS {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    let total = total.clone();
                    rt::task::spawn(async move {
                        let (tx1, rx1) = oneshot::channel::<usize>();
                        let (tx2, rx2) = oneshot::channel::<usize>();
                        rt::task::spawn(async move {
                            let v = rx1.await.unwrap();
                            tx2.send(v + 1).unwrap();
                        });
                        tx1.send(i).unwrap();
                        let back = rx2.await.unwrap();
                        total.fetch_add(back, Relaxed);
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).unwrap();
                        }
                    });
                }
            });
            done_rx.recv().unwrap();
        });
        sum.load(Relaxed) as u64
    })
}

/// 200 tasks spawned from outside, each yielding 1,000 times, then reporting
/// its yield count over a std channel.
pub fn yield_many(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    let (tx, rx) = mpsc::sync_channel(YIELD_TASKS);
    iterate(args, || {
        for _ in 0..YIELD_TASKS {
            let tx = tx.clone();
            rt.spawn(async move {
                let mut yields = 0u64;
                for _ in 0..NUM_YIELD {
                    rt::task::yield_now().await;
                    yields += 1;
                }
                tx.send(yields).unwrap();
            });
        }
        (0..YIELD_TASKS).map(|_| rx.recv().unwrap()).sum()
    })
}

/// Each task spawns the next, 1,000 deep; the last one reports the depth.
pub fn chained_spawn(args: &Args) -> Outcome {
    fn link(done: mpsc::SyncSender<u64>, left: usize, depth: u64) {
        if left == 0 {
            done.send(depth).unwrap();
        } else {
            rt::task::spawn(async move { link(done, left - 1, depth + 1) });
        }
    }
    let rt = runtime(args.workers);
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    iterate(args, || {
        let done_tx = done_tx.clone();
        rt.block_on(async {
            rt::task::spawn(async move { link(done_tx, CHAIN_DEPTH, 0) });
            done_rx.recv().unwrap()
        })
    })
}

/// `spawn_blocking` throughput: 1,000 tiny closures submitted from inside
/// the runtime and awaited together; returns the sum of their results.
pub fn spawn_blocking_many(args: &Args) -> Outcome {
    const CALLS: u64 = 1_000;
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let handles: Vec<_> = (0..CALLS)
                .map(|i| rt::task::spawn_blocking(move || i * 3))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        })
    })
}
