//! `sync::watch`: coalescing, seen-version tracking, close semantics.
use futures::executor::block_on;
use futures::task::noop_waker_ref;
use runtime_core::sync::watch;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

fn poll<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(noop_waker_ref()))
}

#[test]
fn coalesces_intermediate_values() {
    let (tx, mut rx) = watch::channel(0);
    assert!(!rx.has_changed().unwrap());
    for i in 1..=10 {
        tx.send(i).unwrap();
    }
    assert!(rx.has_changed().unwrap());
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow(), 10);
    // Seen: the next `changed` waits.
    let mut ch = pin!(rx.changed());
    assert!(poll(ch.as_mut()).is_pending());
}

#[test]
fn borrow_and_update_marks_seen() {
    let (tx, mut rx) = watch::channel("a");
    tx.send("b").unwrap();
    assert!(rx.borrow().has_changed());
    assert!(rx.has_changed().unwrap());
    {
        let r = rx.borrow_and_update();
        assert!(r.has_changed());
        assert_eq!(*r, "b");
    }
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    assert!(rx.has_changed().unwrap());
    rx.mark_unchanged();
    assert!(!rx.has_changed().unwrap());
    assert!(!rx.borrow_and_update().has_changed());
}

#[test]
fn changed_wakes_waiter_on_send() {
    let (tx, mut rx) = watch::channel(0);
    let h = std::thread::spawn(move || {
        let mut last = 0;
        while block_on(rx.changed()).is_ok() {
            let v = *rx.borrow_and_update();
            assert!(v > last, "values only move forward");
            last = v;
        }
        last
    });
    for i in 1..=100 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert_eq!(h.join().unwrap(), 100);
}

#[test]
fn sender_drop_reports_after_last_value() {
    let (tx, mut rx) = watch::channel(1);
    tx.send(2).unwrap();
    drop(tx);
    assert!(rx.has_changed().is_err());
    // The unseen value is still reported once...
    assert!(block_on(rx.changed()).is_ok());
    assert_eq!(*rx.borrow(), 2);
    // ...then the channel is closed.
    assert!(block_on(rx.changed()).is_err());
}

#[test]
fn send_requires_receivers_but_replace_and_modify_do_not() {
    let (tx, rx) = watch::channel(vec![1]);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(vec![2]).unwrap_err().0, vec![2]);
    assert_eq!(*tx.borrow(), vec![1]);
    assert_eq!(tx.send_replace(vec![3]), vec![1]);
    tx.send_modify(|v| v.push(4));
    assert_eq!(*tx.borrow(), vec![3, 4]);
    let mut rx = tx.subscribe();
    assert!(!rx.has_changed().unwrap());
    assert!(!tx.send_if_modified(|_| false));
    assert!(!rx.has_changed().unwrap());
    assert!(tx.send_if_modified(|v| {
        v.clear();
        true
    }));
    assert!(rx.has_changed().unwrap());
    assert!(block_on(rx.changed()).is_ok());
    assert!(rx.borrow().is_empty());
}

#[test]
fn sender_closed_future_and_clones() {
    let (tx, rx) = watch::channel(());
    let rx2 = rx.clone();
    assert_eq!(tx.receiver_count(), 2);
    let mut closed = Box::pin(tx.closed());
    assert!(poll(closed.as_mut()).is_pending());
    drop(rx);
    assert!(poll(closed.as_mut()).is_pending());
    drop(rx2);
    assert!(poll(closed.as_mut()).is_ready());

    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    drop(tx);
    tx2.send(1).unwrap();
    assert!(block_on(rx.changed()).is_ok());
    drop(tx2);
    assert!(block_on(rx.changed()).is_err());
}

#[test]
fn cancelled_changed_loses_nothing() {
    let (tx, mut rx) = watch::channel(0);
    {
        let mut ch = pin!(rx.changed());
        assert!(poll(ch.as_mut()).is_pending());
    }
    tx.send(1).unwrap();
    assert!(rx.has_changed().unwrap());
    assert!(block_on(rx.changed()).is_ok());
}

#[test]
fn wait_for_checks_current_then_waits() {
    let (tx, mut rx) = watch::channel(1);
    assert_eq!(*block_on(rx.wait_for(|v| *v == 1)).unwrap(), 1);
    let h = std::thread::spawn(move || {
        for i in 2..=5 {
            tx.send(i).unwrap();
        }
    });
    assert_eq!(*block_on(rx.wait_for(|v| *v == 5)).unwrap(), 5);
    h.join().unwrap();
    assert!(block_on(rx.wait_for(|v| *v == 6)).is_err());
}

#[test]
fn receivers_in_runtime_tasks_see_the_final_value() {
    let rt = runtime_core::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = watch::channel(0u32);
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.clone();
                runtime_core::spawn(async move {
                    let mut last = *rx.borrow_and_update();
                    while rx.changed().await.is_ok() {
                        let v = *rx.borrow_and_update();
                        assert!(v >= last);
                        last = v;
                    }
                    last
                })
            })
            .collect();
        drop(rx);
        for i in 1..=1000 {
            tx.send(i).unwrap();
            if i % 100 == 0 {
                runtime_core::task::yield_now().await;
            }
        }
        drop(tx);
        for h in hs {
            assert_eq!(h.await.unwrap(), 1000);
        }
    });
}
