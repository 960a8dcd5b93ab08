//! `sync::RwLock`: shared readers, exclusive writers, no writer starvation,
//! cancellation.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::{RwLock, RwLockWriteGuard};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn readers_share_writers_exclude() {
    let l = RwLock::new(1);
    let r1 = l.try_read().unwrap();
    let r2 = block_on(l.read());
    assert_eq!(*r1 + *r2, 2);
    assert!(l.try_write().is_err());
    drop((r1, r2));
    let mut w = l.try_write().unwrap();
    *w = 7;
    assert!(l.try_read().is_err());
    drop(w);
    assert_eq!(*l.try_read().unwrap(), 7);
}

#[test]
fn queued_writer_blocks_later_readers() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = Box::pin(l.write());
    assert!(poll(w.as_mut()).is_pending());
    // A reader arriving after the writer waits for it: no writer starvation.
    let mut r2 = Box::pin(l.read());
    assert!(poll(r2.as_mut()).is_pending());
    assert!(l.try_read().is_err());
    drop(r);
    let mut g = match poll(w.as_mut()) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("writer should have the lock"),
    };
    *g = 1;
    assert!(poll(r2.as_mut()).is_pending());
    drop(g);
    let seen = match poll(r2.as_mut()) {
        Poll::Ready(g) => *g,
        Poll::Pending => panic!("reader should proceed after the writer"),
    };
    assert_eq!(seen, 1);
}

#[test]
fn cancelled_writer_releases_readers() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = Box::pin(l.write());
    assert!(poll(w.as_mut()).is_pending());
    let mut r2 = Box::pin(l.read());
    assert!(poll(r2.as_mut()).is_pending());
    drop(w); // gives back the reader permits it had collected
    assert!(poll(r2.as_mut()).is_ready());
    drop(r2);
    drop(r);
    assert!(l.try_write().is_ok());
}

#[test]
fn downgrade_and_owned() {
    let l = Arc::new(RwLock::new(5));
    let w = block_on(l.clone().write_owned());
    assert!(l.try_read().is_err());
    let r = runtime_core::sync::OwnedRwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 5);
    assert!(l.try_read().is_ok());
    assert!(l.try_write().is_err());
    drop(r);
    let w = l.try_write().unwrap();
    let r = RwLockWriteGuard::downgrade(w);
    assert!(l.try_write().is_err());
    drop(r);
    let r = l.clone().try_read_owned().unwrap();
    assert!(l.clone().try_write_owned().is_err());
    drop(r);
    let mut l = Arc::try_unwrap(l).unwrap();
    *l.get_mut() += 1;
    assert_eq!(l.into_inner(), 6);
}

#[test]
fn concurrent_readers_and_writers_stay_consistent() {
    const ROUNDS: u64 = if cfg!(miri) { 10 } else { 300 };
    let l = Arc::new(RwLock::new((0u64, 0u64)));
    let hs: Vec<_> = (0..6)
        .map(|i| {
            let l = l.clone();
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    if i % 2 == 0 {
                        let mut g = l.blocking_write();
                        g.0 += 1;
                        g.1 += 1;
                    } else {
                        let g = l.blocking_read();
                        assert_eq!(g.0, g.1, "reader saw a half-done write");
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*block_on(l.read()), (3 * ROUNDS, 3 * ROUNDS));
}
