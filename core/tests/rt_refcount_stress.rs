//! Abort, completion, JoinHandle drop, AbortHandle and foreign wakes racing: every future and output dropped exactly once.
//! Stress: abort vs completion vs JoinHandle drop vs wakes vs shutdown.
//! Every future and every output must be dropped exactly once.
use runtime_core::runtime::Builder;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

static FUT_NEW: AtomicUsize = AtomicUsize::new(0);
static FUT_DROP: AtomicUsize = AtomicUsize::new(0);
static OUT_NEW: AtomicUsize = AtomicUsize::new(0);
static OUT_DROP: AtomicUsize = AtomicUsize::new(0);

struct Out;
impl Out {
    fn new() -> Out {
        OUT_NEW.fetch_add(1, SeqCst);
        Out
    }
}
impl Drop for Out {
    fn drop(&mut self) {
        OUT_DROP.fetch_add(1, SeqCst);
    }
}

struct Fut {
    polls: usize,
    stash: Arc<Mutex<Vec<Waker>>>,
}
impl Fut {
    fn new(polls: usize, stash: Arc<Mutex<Vec<Waker>>>) -> Fut {
        FUT_NEW.fetch_add(1, SeqCst);
        Fut { polls, stash }
    }
}
impl Drop for Fut {
    fn drop(&mut self) {
        FUT_DROP.fetch_add(1, SeqCst);
    }
}
impl Future for Fut {
    type Output = Out;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        if self.polls == 0 {
            return Poll::Ready(Out::new());
        }
        self.polls -= 1;
        if self.polls % 2 == 0 {
            cx.waker().wake_by_ref();
        } else {
            self.stash.lock().unwrap().push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[test]
fn exactly_once_drops_under_races() {
    for round in 0..30 {
        let stash: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let rt = Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        let h = rt.handle().clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // A waker thread waking stashed wakers from outside.
        let waker_thread = {
            let stash = stash.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let ws: Vec<Waker> = std::mem::take(&mut *stash.lock().unwrap());
                    for (i, w) in ws.into_iter().enumerate() {
                        if i % 3 == 0 {
                            w.wake_by_ref();
                            drop(w)
                        } else {
                            w.wake()
                        }
                    }
                    std::thread::yield_now();
                }
            })
        };
        let mut handles = Vec::new();
        for i in 0..2000usize {
            let jh = h.spawn(Fut::new(i % 7, stash.clone()));
            match i % 5 {
                0 => drop(jh),
                1 => {
                    jh.abort();
                    drop(jh)
                }
                2 => {
                    let a = jh.abort_handle();
                    drop(jh);
                    a.abort();
                }
                _ => handles.push(jh),
            }
        }
        if round % 2 == 0 {
            rt.block_on(async {
                for (k, jh) in handles.drain(..).enumerate() {
                    if k % 4 == 0 {
                        jh.abort();
                    }
                    let _ = jh.await;
                }
            });
        }
        drop(rt); // shutdown races the waker thread
        drop(handles);
        stop.store(true, SeqCst);
        waker_thread.join().unwrap();
        stash.lock().unwrap().clear();
    }
    assert_eq!(FUT_NEW.load(SeqCst), FUT_DROP.load(SeqCst), "futures");
    assert_eq!(OUT_NEW.load(SeqCst), OUT_DROP.load(SeqCst), "outputs");
}
