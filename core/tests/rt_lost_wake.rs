//! Chained wakes across threads never get lost.
use runtime_core::runtime::Builder;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}
impl Flag {
    fn signal(&self) {
        self.set.store(true, SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}
struct Wait(Arc<Flag>);
impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.set.load(SeqCst) {
            return Poll::Ready(());
        }
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.set.load(SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[test]
fn no_lost_wakeups_ping_pong() {
    let rt = Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = rt.handle().clone();
    std::thread::spawn(move || {
        for round in 0..3000 {
            // chain: foreign -> t1 -> t2 -> t3 ... each wakes the next
            let n = 8;
            let flags: Vec<Arc<Flag>> = (0..=n).map(|_| Arc::default()).collect();
            let mut js = Vec::new();
            for i in 0..n {
                let a = flags[i].clone();
                let b = flags[i + 1].clone();
                js.push(h.spawn(async move {
                    Wait(a).await;
                    b.signal();
                }));
            }
            if round % 2 == 0 {
                std::thread::yield_now();
            }
            flags[0].signal();
            let last = flags[n].clone();
            h.block_on(Wait(last));
            for j in js {
                h.block_on(j).unwrap();
            }
        }
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("lost wakeup: hang");
}
