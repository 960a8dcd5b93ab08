//! `sync::oneshot`: delivery, close semantics, cancellation, cross-thread.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::oneshot::{self, error::TryRecvError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn send_then_receive() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(rx.is_empty());
    tx.send(5).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(block_on(&mut rx), Ok(5));
    assert!(rx.is_terminated());
}

#[test]
fn receive_across_threads() {
    for _ in 0..if cfg!(miri) { 5 } else { 200 } {
        let (tx, rx) = oneshot::channel();
        let h = std::thread::spawn(move || tx.send(String::from("x")).unwrap());
        assert_eq!(rx.blocking_recv().unwrap(), "x");
        h.join().unwrap();
    }
}

#[test]
fn sender_dropped_is_an_error() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let mut fut = Pin::new(&mut rx);
    assert!(poll(fut.as_mut()).is_pending());
    drop(tx);
    assert!(matches!(poll(fut.as_mut()), Poll::Ready(Err(_))));
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn receiver_close_and_drop() {
    let (tx, mut rx) = oneshot::channel();
    assert!(!tx.is_closed());
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(3), Err(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    // A value sent before close is still received.
    let (tx, mut rx) = oneshot::channel();
    tx.send(4).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(4));

    // Dropping the receiver drops an unreceived value.
    let marker = Arc::new(());
    let (tx, rx) = oneshot::channel();
    tx.send(marker.clone()).unwrap();
    drop(rx);
    assert_eq!(Arc::strong_count(&marker), 1);

    let (tx, rx) = oneshot::channel::<Arc<()>>();
    drop(rx);
    let back = tx.send(marker.clone()).unwrap_err();
    drop(back);
    assert_eq!(Arc::strong_count(&marker), 1);
}

#[test]
fn sender_closed_future() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    {
        let mut closed = Box::pin(tx.closed());
        assert!(poll(closed.as_mut()).is_pending());
    } // cancelled: nothing lost
    let h = std::thread::spawn(move || {
        block_on(tx.closed());
        tx.is_closed()
    });
    std::thread::sleep(std::time::Duration::from_millis(10));
    drop(rx);
    assert!(h.join().unwrap());
}

#[test]
fn cancelled_receive_keeps_the_value() {
    let (tx, mut rx) = oneshot::channel();
    {
        let mut fut = Pin::new(&mut rx);
        assert!(poll(fut.as_mut()).is_pending());
    }
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn between_runtime_tasks() {
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let total = rt.block_on(async {
        let mut rxs = Vec::new();
        for i in 0..100u32 {
            let (tx, rx) = oneshot::channel();
            runtime_core::spawn(async move { tx.send(i).unwrap() });
            rxs.push(rx);
        }
        let mut total = 0;
        for rx in rxs {
            total += rx.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..100).sum::<u32>());
}
