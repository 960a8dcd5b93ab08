//! `remote_spawn`: tasks submitted from foreign (non-runtime) threads.
//!
//! This is how the C and Python layers hand work to the runtime, so it is
//! the row that matters most for them. `args.param` foreign threads, created
//! once and released together by a barrier each iteration, share 12,800
//! detached spawns; the iteration ends when the last task has run.

use super::runtime;
use crate::measure::{iterate, Args, Outcome};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc, Barrier};

/// Tasks per iteration, split evenly among the foreign threads.
pub const TOTAL_TASKS: usize = 12_800;

/// See the module documentation.
pub fn remote_spawn(args: &Args) -> Outcome {
    let threads = args.param.max(1) as usize;
    assert_eq!(TOTAL_TASKS % threads, 0, "12,800 must split evenly");
    let per_thread = TOTAL_TASKS / threads;

    let rt = runtime(args.workers);
    let rem = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1);
    // `go` releases the spawners; `None` tells them to exit.
    let go = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawners: Vec<_> = (0..threads)
        .map(|_| {
            let handle = rt.handle().clone();
            let (rem, done_tx, go, stop) = (rem.clone(), done_tx.clone(), go.clone(), stop.clone());
            std::thread::spawn(move || loop {
                go.wait();
                if stop.load(Relaxed) {
                    return;
                }
                for _ in 0..per_thread {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    drop(handle.spawn(async move {
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).unwrap();
                        }
                    }));
                }
            })
        })
        .collect();

    let out = iterate(args, || {
        rem.store(TOTAL_TASKS, Relaxed);
        go.wait();
        done_rx.recv().unwrap();
        assert_eq!(rem.load(Relaxed), 0);
        TOTAL_TASKS as u64
    });
    stop.store(true, Relaxed);
    go.wait();
    for s in spawners {
        s.join().unwrap();
    }
    out
}
