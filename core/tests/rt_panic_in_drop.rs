//! A task whose future panics while its output or panic payload is dropped still completes; the worker survives.
//! Future whose Drop panics, returning an output whose Drop panics: the
//! second panic escapes the harness and kills the worker.
use runtime_core::runtime::Builder;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

struct Out;
impl Drop for Out {
    fn drop(&mut self) {
        panic!("output drop panics");
    }
}
struct F;
impl Drop for F {
    fn drop(&mut self) {
        panic!("future drop panics");
    }
}
impl Future for F {
    type Output = Out;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Out> {
        Poll::Ready(Out)
    }
}

#[test]
fn double_panic_does_not_kill_worker() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let r = rt.block_on(async {
            let jh = runtime_core::spawn(F);
            jh.await.is_err()
        });
        assert!(r);
        // worker still alive?
        assert_eq!(
            rt.block_on(async { runtime_core::spawn(async { 1 }).await })
                .unwrap(),
            1
        );
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("hang: worker died");
}
