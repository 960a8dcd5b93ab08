//! `sync::broadcast`: fan-out, exact lag reporting, close, cancellation.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn every_receiver_sees_every_value() {
    let (tx, mut a) = broadcast::channel(8);
    let mut b = tx.subscribe();
    for i in 0..5 {
        assert_eq!(tx.send(i).unwrap(), 2);
    }
    for i in 0..5 {
        assert_eq!(a.try_recv(), Ok(i));
        assert_eq!(block_on(b.recv()), Ok(i));
    }
    assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
    // A late subscriber sees only later values.
    let mut c = tx.subscribe();
    tx.send(9).unwrap();
    assert_eq!(c.try_recv(), Ok(9));
}

#[test]
fn lagged_reports_exact_count_then_continues_from_oldest() {
    let (tx, mut rx) = broadcast::channel(4);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    // Capacity 4: values 6..10 retained, 0..6 overwritten.
    assert_eq!(rx.len(), 10);
    assert_eq!(block_on(rx.recv()), Err(RecvError::Lagged(6)));
    assert_eq!(rx.len(), 4);
    for i in 6..10 {
        assert_eq!(block_on(rx.recv()), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

    // Lag detected mid-stream, with a non-power-of-two capacity (rounded up
    // to 4).
    let (tx, mut rx) = broadcast::channel(3);
    tx.send(0).unwrap();
    assert_eq!(rx.try_recv(), Ok(0));
    for i in 1..=6 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(2)));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn closed_after_senders_drop_and_drain() {
    let (tx, mut rx) = broadcast::channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    tx2.send(2).unwrap();
    drop(tx2);
    assert_eq!(block_on(rx.recv()), Ok(1));
    assert_eq!(block_on(rx.recv()), Ok(2));
    assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_closed() && rx.is_empty());
}

#[test]
fn send_without_receivers_fails() {
    let (tx, rx) = broadcast::channel(2);
    drop(rx);
    assert_eq!(tx.send(5).unwrap_err().0, 5);
    let mut rx = tx.subscribe();
    assert_eq!(tx.receiver_count(), 1);
    tx.send(6).unwrap();
    assert_eq!(rx.try_recv(), Ok(6));
}

#[test]
fn values_are_dropped_once_every_receiver_read_them() {
    let marker = Arc::new(());
    let (tx, mut a) = broadcast::channel(4);
    let b = tx.subscribe();
    tx.send(marker.clone()).unwrap();
    assert_eq!(Arc::strong_count(&marker), 2);
    drop(a.try_recv().unwrap());
    assert_eq!(Arc::strong_count(&marker), 2); // `b` has not read it
    drop(b); // releases its share
    assert_eq!(Arc::strong_count(&marker), 1);
}

#[test]
fn waiting_receivers_wake_and_cancel_safely() {
    let (tx, mut rx) = broadcast::channel(512);
    {
        let mut r = pin!(rx.recv());
        assert!(poll(r.as_mut()).is_pending());
    } // cancelled
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));

    let mut rx2 = tx.subscribe();
    let h = std::thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match rx2.blocking_recv() {
                Ok(v) => got.push(v),
                Err(RecvError::Lagged(_)) => panic!("capacity is enough"),
                Err(RecvError::Closed) => return got,
            }
        }
    });
    for i in 2..500 {
        tx.send(i).unwrap();
    }
    drop(tx);
    drop(rx);
    assert_eq!(h.join().unwrap(), (2..500).collect::<Vec<_>>());
}

#[test]
fn fan_out_to_runtime_tasks() {
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, _) = broadcast::channel(1024);
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = tx.subscribe();
                runtime_core::spawn(async move {
                    let mut sum = 0u64;
                    loop {
                        match rx.recv().await {
                            Ok(v) => sum += v,
                            Err(RecvError::Closed) => return sum,
                            Err(RecvError::Lagged(n)) => panic!("lagged by {n}"),
                        }
                    }
                })
            })
            .collect();
        for i in 0..1000u64 {
            tx.send(i).unwrap();
        }
        drop(tx);
        for h in hs {
            assert_eq!(h.await.unwrap(), (0..1000).sum::<u64>());
        }
    });
}
