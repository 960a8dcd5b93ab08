//! `sync::Mutex`: exclusion under contention, FIFO fairness, cancellation,
//! guards held across `.await`, owned/mapped guards.
use futures::executor::{block_on, LocalPool};
use futures::task::{noop_waker_ref, LocalSpawnExt};
use runtime_core::runtime::Builder;
use runtime_core::sync::{Mutex, MutexGuard, OwnedMutexGuard};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn guard_is_send_and_lock_future_is_send() {
    let m = Mutex::new(1u32);
    let fut = async {
        let mut g = m.lock().await;
        // Held across an await point.
        futures::future::ready(()).await;
        *g += 1;
    };
    assert_send(&fut);
    block_on(fut);
    let g = m.try_lock().unwrap();
    assert_send(&g);
    assert_eq!(*g, 2);
}

#[test]
fn contended_increments_sum_exactly_on_multi_thread_runtime() {
    // 64 tasks x 5k increments on 4 workers, with an await point inside
    // the critical section now and then.
    const TASKS: usize = 64;
    const ITERS: usize = if cfg!(miri) { 10 } else { 5_000 };
    let rt = Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let m = Arc::new(Mutex::new(0usize));
    rt.block_on(async {
        let hs: Vec<_> = (0..TASKS)
            .map(|_| {
                let m = m.clone();
                runtime_core::spawn(async move {
                    for i in 0..ITERS {
                        let mut g = m.lock().await;
                        let v = *g;
                        if i % 1000 == 0 {
                            runtime_core::task::yield_now().await;
                        }
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(*m.try_lock().unwrap(), TASKS * ITERS);
}

#[test]
fn contended_increments_sum_exactly_on_foreign_executors() {
    // Runtime-agnostic: OS threads each running a `futures` local executor.
    const THREADS: usize = 4;
    const TASKS_PER_THREAD: usize = if cfg!(miri) { 4 } else { 16 };
    const ITERS: usize = if cfg!(miri) { 10 } else { 1_000 };
    let m = Arc::new(Mutex::new(0usize));
    let hs: Vec<_> = (0..THREADS)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut pool = LocalPool::new();
                for _ in 0..TASKS_PER_THREAD {
                    let m = m.clone();
                    pool.spawner()
                        .spawn_local(async move {
                            for _ in 0..ITERS {
                                *m.lock().await += 1;
                            }
                        })
                        .unwrap();
                }
                pool.run();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), THREADS * TASKS_PER_THREAD * ITERS);
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_lock_inside_a_runtime_panics() {
    let rt = Builder::new_current_thread().build().unwrap();
    let m = Mutex::new(());
    rt.block_on(async {
        let _g = m.blocking_lock();
    });
}

#[test]
fn blocking_lock_from_spawn_blocking() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let m = Arc::new(Mutex::new(0));
    rt.block_on(async {
        let g = m.lock().await;
        let m2 = m.clone();
        let h = runtime_core::spawn_blocking(move || *m2.blocking_lock() += 1);
        drop(g);
        h.await.unwrap();
    });
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn waiters_acquire_in_fifo_order() {
    let m = Mutex::new(Vec::new());
    let g = m.try_lock().unwrap();
    let mut futs: Vec<_> = (0..5).map(|_| Box::pin(m.lock())).collect();
    for f in futs.iter_mut() {
        assert!(poll(f.as_mut()).is_pending());
    }
    drop(g);
    // Only the first waiter may get it; later ones stay queued even if
    // polled first.
    for i in 0..5 {
        for f in futs[i + 1..].iter_mut() {
            assert!(poll(f.as_mut()).is_pending());
        }
        match poll(futs[i].as_mut()) {
            Poll::Ready(mut g) => g.push(i),
            Poll::Pending => panic!("waiter {i} should hold the lock"),
        }
    }
    assert_eq!(*m.try_lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn try_lock_does_not_barge_past_waiters() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let mut w = Box::pin(m.lock());
    assert!(poll(w.as_mut()).is_pending());
    drop(g);
    // The lock now belongs to the queued waiter.
    assert!(m.try_lock().is_err());
    assert!(poll(w.as_mut()).is_ready());
}

#[test]
fn cancelled_waiter_does_not_lose_the_lock() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut a = Box::pin(m.lock());
    let mut b = Box::pin(m.lock());
    assert!(poll(a.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_pending());
    // Cancel a waiter that is still queued.
    drop(a);
    drop(g);
    assert!(poll(b.as_mut()).is_ready());

    // Cancel a waiter after the lock was handed to it but before it saw it.
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut a = Box::pin(m.lock());
    let mut b = Box::pin(m.lock());
    assert!(poll(a.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_pending());
    drop(g); // assigned to `a`
    drop(a); // must pass it on to `b`
    assert!(poll(b.as_mut()).is_ready());
    drop(b);
    assert!(m.try_lock().is_ok());
}

#[test]
fn lock_wakes_the_waiting_thread() {
    let m = Arc::new(Mutex::new(0));
    let g = m.try_lock().unwrap();
    let m2 = m.clone();
    let h = std::thread::spawn(move || {
        let mut g = m2.blocking_lock();
        *g += 1;
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    drop(g);
    h.join().unwrap();
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn owned_guard_is_static() {
    let m = Arc::new(Mutex::new(String::from("a")));
    let g: OwnedMutexGuard<String> = block_on(m.clone().lock_owned());
    let h = std::thread::spawn(move || {
        let mut g = g;
        g.push('b');
    });
    h.join().unwrap();
    assert_eq!(*block_on(m.lock()), "ab");
    let g = m.clone().try_lock_owned().unwrap();
    assert!(m.try_lock().is_err());
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &m));
}

#[test]
fn map_get_mut_into_inner() {
    let m = Mutex::new((1, String::from("x")));
    {
        let g = m.try_lock().unwrap();
        let mut s = MutexGuard::map(g, |v| &mut v.1);
        s.push('y');
        assert!(m.try_lock().is_err());
    }
    {
        let g = m.try_lock().unwrap();
        let g = MutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
        assert_eq!(g.0, 1);
    }
    let mut m = m;
    m.get_mut().0 = 5;
    assert_eq!(m.into_inner(), (5, String::from("xy")));
    assert!(format!("{:?}", Mutex::new(3)).contains('3'));
}
