//! `sync::mpsc`: ordering, backpressure, close semantics, cancellation,
//! contended senders, blocking use from threads, streams.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use futures::StreamExt;
use runtime_core::sync::mpsc::{self, error::TryRecvError, error::TrySendError};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn fifo_and_drain_after_senders_drop() {
    let (tx, mut rx) = mpsc::channel(100);
    let tx2 = tx.clone();
    block_on(async {
        for i in 0..50 {
            tx.send(i).await.unwrap();
        }
        tx2.send(50).await.unwrap();
    });
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    let got: Vec<_> = block_on(async {
        let mut v = Vec::new();
        while let Some(x) = rx.recv().await {
            v.push(x);
        }
        v
    });
    assert_eq!(got, (0..=50).collect::<Vec<_>>());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn bounded_backpressure() {
    let (tx, mut rx) = mpsc::channel(2);
    assert_eq!(tx.max_capacity(), 2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    let mut send = Box::pin(tx.send(3));
    assert!(poll(send.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    // The freed slot goes to the waiting sender.
    assert!(matches!(poll(send.as_mut()), Poll::Ready(Ok(()))));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.capacity(), 2);
}

#[test]
fn waiting_senders_are_served_fifo() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let mut sends: Vec<_> = (1..=3).map(|i| Some(Box::pin(tx.send(i)))).collect();
    for s in sends.iter_mut() {
        assert!(poll(s.as_mut().unwrap().as_mut()).is_pending());
    }
    for i in 0..3 {
        assert_eq!(rx.try_recv(), Ok(i));
        // Poll later senders first: only the oldest waiter may complete.
        for (j, s) in sends.iter_mut().enumerate().rev() {
            if let Some(f) = s {
                let done = poll(f.as_mut()).is_ready();
                assert_eq!(done, j == i, "sender {j} after receiving {i}");
                if done {
                    *s = None;
                }
            }
        }
    }
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn cancelled_send_does_not_lose_a_slot() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let mut a = Box::pin(tx.send(2));
    let mut b = Box::pin(tx.send(3));
    assert!(poll(a.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(1)); // slot assigned to `a`
    drop(a); // cancelled: its slot passes to `b`
    assert!(matches!(poll(b.as_mut()), Poll::Ready(Ok(()))));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn cancelled_recv_does_not_lose_a_message() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    {
        let mut r = pin!(rx.recv());
        assert!(poll(r.as_mut()).is_pending());
    }
    tx.send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
}

#[test]
fn receiver_close_semantics() {
    let (tx, mut rx) = mpsc::channel(4);
    tx.try_send(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    let mut closed = Box::pin(tx.closed());
    assert!(poll(closed.as_mut()).is_pending());
    rx.close();
    assert!(poll(closed.as_mut()).is_ready());
    assert!(tx.is_closed());
    assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
    assert_eq!(block_on(tx.send(3)).unwrap_err().0, 3);
    // Buffered values are still delivered...
    assert_eq!(rx.try_recv(), Ok(1));
    // ...and a reserved permit can still send; until it is used or dropped
    // the receiver cannot report the end.
    let mut recv = Box::pin(rx.recv());
    assert!(poll(recv.as_mut()).is_pending());
    permit.send(4);
    assert_eq!(poll(recv.as_mut()), Poll::Ready(Some(4)));
    drop(recv);
    assert_eq!(block_on(rx.recv()), None);

    // A permit dropped unused after close ends the stream too.
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    let mut recv = Box::pin(rx.recv());
    assert!(poll(recv.as_mut()).is_pending());
    drop(permit);
    assert_eq!(poll(recv.as_mut()), Poll::Ready(None));
}

#[test]
fn dropping_receiver_drops_buffered_values() {
    let marker = Arc::new(());
    let (tx, rx) = mpsc::channel(8);
    for _ in 0..5 {
        tx.try_send(marker.clone()).unwrap();
    }
    drop(rx);
    assert_eq!(Arc::strong_count(&marker), 1);
    assert!(tx.try_send(marker.clone()).is_err());
    assert!(tx.is_closed());
}

#[test]
fn sixteen_contended_senders() {
    const SENDERS: usize = 16;
    const PER: usize = if cfg!(miri) { 20 } else { 2_000 };
    let (tx, mut rx) = mpsc::channel(64);
    let hs: Vec<_> = (0..SENDERS)
        .map(|s| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER {
                    tx.blocking_send((s, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = [0; SENDERS];
    let mut count = 0;
    while let Some((s, i)) = rx.blocking_recv() {
        assert_eq!(next[s], i, "per-sender order");
        next[s] += 1;
        count += 1;
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(count, SENDERS * PER);
}

#[test]
fn unbounded_across_threads_and_close() {
    const PER_THREAD: u64 = if cfg!(miri) { 50 } else { 1000 };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    tx.send(t * PER_THREAD + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let sum: u64 = block_on(async {
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(sum, (0..4 * PER_THREAD).sum::<u64>());

    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    rx.close();
    assert!(tx.send(2).is_err());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn reserve_owned_and_release() {
    let (tx, mut rx) = mpsc::channel(1);
    let p = block_on(tx.clone().reserve_owned()).unwrap();
    assert!(tx.try_reserve().is_err());
    let tx2 = p.release();
    assert!(tx2.same_channel(&tx));
    let p = block_on(tx2.reserve_owned()).unwrap();
    let _tx3 = p.send(9);
    assert_eq!(rx.try_recv(), Ok(9));
}

#[test]
fn recv_many_and_stream() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many(&mut buf, 4)), 4);
    assert_eq!(buf, vec![0, 1, 2, 3]);
    drop(tx);
    let rest: Vec<_> = block_on(rx.collect());
    assert_eq!(rest, (4..10).collect::<Vec<_>>());

    let (tx, rx) = mpsc::channel(4);
    let h = std::thread::spawn(move || {
        for i in 0..20 {
            tx.blocking_send(i).unwrap();
        }
    });
    let got: Vec<_> = block_on(rx.collect());
    h.join().unwrap();
    assert_eq!(got, (0..20).collect::<Vec<_>>());

    let (tx, mut rx) = mpsc::channel::<u8>(1);
    drop(tx);
    assert_eq!(block_on(rx.recv_many(&mut Vec::new(), 4)), 0);
}

#[test]
fn futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    let (tx, mut rx) = mpsc::channel::<String>(1);
    assert_send(tx.send(String::new()));
    assert_send(tx.reserve());
    assert_send(rx.recv());
    let (utx, mut urx) = mpsc::unbounded_channel::<String>();
    assert_send(utx.closed());
    assert_send(urx.recv());
}

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let weak = tx.downgrade();
    let tx2 = weak.upgrade().expect("a sender is alive");
    tx2.try_send(1).unwrap();
    drop(tx);
    drop(tx2);
    assert!(weak.upgrade().is_none());
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(block_on(rx.recv()), None);

    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let weak = tx.downgrade().clone();
    drop(tx);
    assert!(weak.upgrade().is_none());
    assert_eq!(block_on(rx.recv()), None);
}

#[test]
fn len_counts_buffered_messages() {
    let (tx, mut rx) = mpsc::channel(100);
    assert!(rx.is_empty());
    for i in 0..70 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), 70);
    for _ in 0..35 {
        rx.try_recv().unwrap();
    }
    assert_eq!(rx.len(), 35);
    assert_eq!(rx.capacity(), 65);
    let (utx, urx) = mpsc::unbounded_channel();
    utx.send(()).unwrap();
    assert_eq!(urx.len(), 1);
}

#[test]
fn sixteen_sender_tasks_on_multi_thread_runtime() {
    const SENDERS: usize = 16;
    const PER: usize = if cfg!(miri) { 20 } else { 5_000 };
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let count = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(32);
        for s in 0..SENDERS {
            let tx = tx.clone();
            runtime_core::spawn(async move {
                for i in 0..PER {
                    tx.send((s, i)).await.unwrap();
                }
            });
        }
        drop(tx);
        let consumer = runtime_core::spawn(async move {
            let mut next = [0; SENDERS];
            let mut count = 0;
            while let Some((s, i)) = rx.recv().await {
                assert_eq!(next[s], i, "per-sender order");
                next[s] += 1;
                count += 1;
            }
            count
        });
        consumer.await.unwrap()
    });
    assert_eq!(count, SENDERS * PER);
}

#[test]
fn recv_yields_to_other_tasks_when_budget_is_spent() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // On one thread, a task draining an always-ready channel must still let
    // another ready task run: `recv` takes part in the coop budget.
    let rt = runtime_core::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let seen_at = Arc::new(AtomicUsize::new(usize::MAX));
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        let (f, s) = (flag.clone(), seen_at.clone());
        let drain = runtime_core::spawn(async move {
            for i in 0..10_000 {
                rx.recv().await.unwrap();
                if f.load(Ordering::SeqCst) && s.load(Ordering::SeqCst) == usize::MAX {
                    s.store(i, Ordering::SeqCst);
                }
            }
        });
        let f = flag.clone();
        let other = runtime_core::spawn(async move { f.store(true, Ordering::SeqCst) });
        drain.await.unwrap();
        other.await.unwrap();
    });
    assert!(
        seen_at.load(Ordering::SeqCst) < 10_000,
        "the draining task never yielded"
    );
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_recv_inside_a_runtime_panics() {
    let rt = runtime_core::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (_tx, mut rx) = mpsc::channel::<u8>(1);
    rt.block_on(async move {
        let _ = rx.blocking_recv();
    });
}

/// After `Receiver::close`, a `reserve` that was handed the slot a
/// `try_recv` freed, then dropped before it was polled again, gives the
/// slot back and wakes the pending `recv`, which now ends the stream.
#[test]
fn a_dropped_reserve_holding_the_last_slot_wakes_a_closed_receiver() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::task::{Wake, Waker};
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let mut reserve = Box::pin(tx.reserve());
    assert!(poll(reserve.as_mut()).is_pending());
    // The freed slot goes straight to the queued reserve.
    assert_eq!(rx.try_recv(), Ok(1));
    rx.close();
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut recv = Box::pin(rx.recv());
    assert!(recv
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(reserve);
    assert!(flag.0.load(SeqCst), "the receiver was not woken");
    assert_eq!(poll(recv.as_mut()), Poll::Ready(None));
    drop(tx);
}

/// The same through `send` and `reserve_owned`, cancelled while queued
/// behind a full buffer: each drop wakes the closed receiver once the
/// buffer has drained.
#[test]
fn dropped_sends_and_owned_reserves_wake_a_closed_receiver() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::task::{Wake, Waker};
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let mut send = Box::pin(tx.send(2));
    assert!(poll(send.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    rx.close();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let mut recv = Box::pin(rx.recv());
    assert!(recv
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(send);
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(poll(recv.as_mut()), Poll::Ready(None));
    drop(recv);

    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let mut reserve = Box::pin(tx.clone().reserve_owned());
    assert!(poll(reserve.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    rx.close();
    let mut recv = Box::pin(rx.recv());
    assert!(recv
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(reserve);
    assert_eq!(count.0.load(SeqCst), 2);
    assert_eq!(poll(recv.as_mut()), Poll::Ready(None));
    drop(tx);
}
