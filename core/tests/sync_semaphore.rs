//! `sync::Semaphore`: permits, FIFO, cancellation, close.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::{Semaphore, TryAcquireError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn acquire_release_and_try() {
    let s = Semaphore::new(3);
    let a = s.try_acquire_many(2).unwrap();
    assert_eq!(a.num_permits(), 2);
    assert_eq!(s.available_permits(), 1);
    assert_eq!(
        s.try_acquire_many(2).unwrap_err(),
        TryAcquireError::NoPermits
    );
    let b = block_on(s.acquire()).unwrap();
    assert_eq!(s.available_permits(), 0);
    drop(a);
    drop(b);
    assert_eq!(s.available_permits(), 3);
    s.add_permits(2);
    assert_eq!(s.available_permits(), 5);
    s.try_acquire().unwrap().forget();
    assert_eq!(s.available_permits(), 4);
    assert_eq!(s.forget_permits(10), 4);
    assert_eq!(s.available_permits(), 0);
}

#[test]
fn large_request_at_front_is_not_overtaken() {
    let s = Semaphore::new(1);
    let mut big = Box::pin(s.acquire_many(3));
    let mut small = Box::pin(s.acquire());
    assert!(poll(big.as_mut()).is_pending());
    assert!(poll(small.as_mut()).is_pending());
    s.add_permits(1);
    // 2 of 3 assigned to `big`; `small` must keep waiting.
    assert!(poll(small.as_mut()).is_pending());
    assert!(s.try_acquire().is_err());
    s.add_permits(1);
    let p = match poll(big.as_mut()) {
        Poll::Ready(p) => p.unwrap(),
        Poll::Pending => panic!("big request should be complete"),
    };
    assert_eq!(p.num_permits(), 3);
    assert!(poll(small.as_mut()).is_pending());
    drop(p);
    assert!(poll(small.as_mut()).is_ready());
}

#[test]
fn cancelled_waiter_returns_assigned_permits() {
    let s = Semaphore::new(2);
    let mut big = Box::pin(s.acquire_many(5));
    let mut next = Box::pin(s.acquire_many(2));
    assert!(poll(big.as_mut()).is_pending()); // took 2, needs 3 more
    assert!(poll(next.as_mut()).is_pending());
    assert_eq!(s.available_permits(), 0);
    drop(big);
    // Its 2 permits go to the next waiter in line.
    assert!(matches!(poll(next.as_mut()), Poll::Ready(Ok(_))));
    drop(next);
    assert_eq!(s.available_permits(), 2);

    // Fully assigned but not yet observed, then dropped.
    let s = Semaphore::new(0);
    let mut a = Box::pin(s.acquire());
    assert!(poll(a.as_mut()).is_pending());
    s.add_permits(1);
    drop(a);
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn close_wakes_waiters_with_error() {
    let s = Arc::new(Semaphore::new(0));
    let woke = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let s = s.clone();
            let woke = woke.clone();
            std::thread::spawn(move || {
                let r = block_on(s.acquire());
                assert!(r.is_err());
                woke.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    s.close();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(woke.load(Ordering::SeqCst), 3);
    assert!(s.is_closed());
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::Closed);
    assert!(block_on(s.clone().acquire_owned()).is_err());
    assert_eq!(s.try_acquire().unwrap_err().to_string(), "semaphore closed");
}

#[test]
fn owned_permits_and_merge() {
    let s = Arc::new(Semaphore::new(4));
    let mut a = s.clone().try_acquire_owned().unwrap();
    let b = block_on(s.clone().acquire_many_owned(2)).unwrap();
    a.merge(b);
    assert_eq!(a.num_permits(), 3);
    assert_eq!(s.available_permits(), 1);
    let h = std::thread::spawn(move || drop(a));
    h.join().unwrap();
    assert_eq!(s.available_permits(), 4);
}

#[test]
fn bounds_concurrency_across_threads() {
    const LIMIT: usize = 3;
    let s = Arc::new(Semaphore::new(LIMIT));
    let inside = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let (s, inside, max_seen) = (s.clone(), inside.clone(), max_seen.clone());
            std::thread::spawn(move || {
                for _ in 0..if cfg!(miri) { 10 } else { 200 } {
                    let _p = block_on(s.acquire()).unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max_seen.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert!(max_seen.load(Ordering::SeqCst) <= LIMIT);
    assert_eq!(s.available_permits(), LIMIT);
}

#[test]
fn close_wakes_waiting_runtime_tasks() {
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let s = Arc::new(Semaphore::new(0));
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let s = s.clone();
                runtime_core::spawn(async move { s.acquire_owned().await.is_err() })
            })
            .collect();
        runtime_core::task::yield_now().await;
        s.close();
        for h in hs {
            assert!(h.await.unwrap(), "acquire must fail after close");
        }
    });
}

/// `add_permits` beyond `MAX_PERMITS` panics and changes nothing, however
/// large the request (no wrap-around in release builds), with or without
/// waiters queued.
#[test]
fn add_permits_past_the_maximum_panics_and_changes_nothing() {
    let s = Semaphore::new(10);
    for n in [usize::MAX - 4, usize::MAX, Semaphore::MAX_PERMITS - 9] {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.add_permits(n)));
        assert!(r.is_err(), "add_permits({n}) returned");
        assert_eq!(s.available_permits(), 10);
    }
    let s = Semaphore::new(0);
    let mut waiter = Box::pin(s.acquire_many(2));
    assert!(poll(waiter.as_mut()).is_pending());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.add_permits(usize::MAX)));
    assert!(r.is_err());
    // The waiter was not served by the refused release.
    assert!(poll(waiter.as_mut()).is_pending());
    s.add_permits(2);
    assert!(matches!(poll(waiter.as_mut()), Poll::Ready(Ok(_))));
}

/// Merged guards hold the sum of their permits, even past `u32::MAX`, and
/// give all of it back.
#[test]
fn merged_permits_past_u32_max_are_all_returned() {
    let big = u32::MAX as usize;
    let s = Semaphore::new(2 * big);
    let mut a = s.try_acquire_many(u32::MAX).unwrap();
    let b = s.try_acquire_many(u32::MAX).unwrap();
    assert_eq!(s.available_permits(), 0);
    a.merge(b);
    assert_eq!(a.num_permits(), 2 * big);
    drop(a);
    assert_eq!(s.available_permits(), 2 * big);
}
