//! Sync rows: a contended bounded mpsc channel and an async Mutex, both
//! uncontended and contended.

use super::{rt, runtime};
use crate::measure::{iterate, Args, Outcome};
use std::sync::Arc;

/// Sender tasks in `mpsc_contended`.
pub const SENDERS: usize = 16;
/// Messages per sender.
pub const MSGS_PER_SENDER: u64 = 6_250;
/// Channel capacity.
pub const CAPACITY: usize = 1_024;
/// Lock+unlock pairs in `mutex_uncontended`.
pub const LOCKS: u64 = 100_000;
/// Tasks in `mutex_contended`.
pub const LOCK_TASKS: u64 = 16;
/// Locks per task in `mutex_contended`.
pub const LOCKS_PER_TASK: u64 = 5_000;

/// 16 sender tasks push 6,250 values each through one bounded channel
/// (capacity 1,024) to one receiver, which sums them.
pub fn mpsc_contended(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let (tx, mut rx) = rt::sync::mpsc::channel::<u64>(CAPACITY);
            for s in 0..SENDERS as u64 {
                let tx = tx.clone();
                rt::task::spawn(async move {
                    for i in 0..MSGS_PER_SENDER {
                        tx.send(s * MSGS_PER_SENDER + i).await.unwrap();
                    }
                });
            }
            drop(tx);
            let receiver = rt::task::spawn(async move {
                let mut sum = 0u64;
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
                sum
            });
            receiver.await.unwrap()
        })
    })
}

/// One task locks and increments 100,000 times.
pub fn mutex_uncontended(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let m = Arc::new(rt::sync::Mutex::new(0u64));
            let task = rt::task::spawn(async move {
                for _ in 0..LOCKS {
                    *m.lock().await += 1;
                }
                let total = *m.lock().await;
                total
            });
            task.await.unwrap()
        })
    })
}

/// 16 tasks each lock and increment 5,000 times, yielding while holding the
/// lock every 100th time so waiters really queue.
pub fn mutex_contended(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let m = Arc::new(rt::sync::Mutex::new(0u64));
            let tasks: Vec<_> = (0..LOCK_TASKS)
                .map(|_| {
                    let m = m.clone();
                    rt::task::spawn(async move {
                        for i in 0..LOCKS_PER_TASK {
                            let mut g = m.lock().await;
                            *g += 1;
                            if i % 100 == 0 {
                                rt::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let total = *m.lock().await;
            total
        })
    })
}

/// 16 tasks share a `Semaphore` of 4 permits, each acquiring it 5,000
/// times, yielding while holding it every 100th time.
pub fn semaphore_contended(args: &Args) -> Outcome {
    let rt = runtime(args.workers);
    iterate(args, || {
        rt.block_on(async {
            let sem = Arc::new(rt::sync::Semaphore::new(SEM_PERMITS));
            let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let tasks: Vec<_> = (0..LOCK_TASKS)
                .map(|_| {
                    let (sem, done) = (sem.clone(), done.clone());
                    rt::task::spawn(async move {
                        for i in 0..LOCKS_PER_TASK {
                            let _permit = sem.acquire().await.unwrap();
                            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i % 100 == 0 {
                                rt::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            done.load(std::sync::atomic::Ordering::Relaxed)
        })
    })
}

/// Permits of the semaphore in `semaphore_contended`.
pub const SEM_PERMITS: usize = 4;
