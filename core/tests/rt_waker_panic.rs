//! A (foreign) waker that panics while the runtime wakes it: the panic
//! reaches the caller, but the runtime keeps working. The current-thread
//! scheduler keeps its driver (timers and I/O still fire), and the other
//! wakers of the same batch are still woken.
use runtime_core::runtime::Builder;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

struct PanicWake;
impl Wake for PanicWake {
    fn wake(self: Arc<Self>) {
        panic!("waker panics");
    }
}

struct CountWake(AtomicUsize);
impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Runs `f` on a thread and fails if it takes longer than `secs`.
fn within(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("the runtime hung after a waker panicked");
}

#[test]
fn a_timer_waker_panic_leaves_the_current_thread_driver_in_place() {
    within(10, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let count = Arc::new(CountWake(AtomicUsize::new(0)));
        // Two sleeps due together, polled with a panicking waker and a
        // counting one: one batch for the driver.
        let (mut bad, mut good) = {
            let _g = rt.enter();
            (
                Box::pin(runtime_core::time::sleep(Duration::from_millis(1))),
                Box::pin(runtime_core::time::sleep(Duration::from_millis(1))),
            )
        };
        let w = Waker::from(Arc::new(PanicWake));
        assert!(bad.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        let c = Waker::from(count.clone());
        assert!(good
            .as_mut()
            .poll(&mut Context::from_waker(&c))
            .is_pending());
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(50)).await })
        }));
        assert!(r.is_err(), "the waker's panic reaches block_on's caller");
        assert_eq!(
            count.0.load(SeqCst),
            1,
            "the other waker of the batch was woken"
        );
        // The driver is still there: timers fire.
        rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(20)).await });
    });
}

#[test]
fn a_deferred_waker_panic_leaves_the_current_thread_driver_in_place() {
    within(10, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                let w = Waker::from(Arc::new(PanicWake));
                let mut y = Box::pin(runtime_core::task::yield_now());
                let _ = y.as_mut().poll(&mut Context::from_waker(&w));
                runtime_core::task::yield_now().await;
            })
        }));
        assert!(r.is_err());
        rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(20)).await });
        assert_eq!(
            rt.block_on(async { runtime_core::spawn(async { 7 }).await.unwrap() }),
            7
        );
    });
}

static BAD_CLONE: std::task::RawWakerVTable =
    std::task::RawWakerVTable::new(|_| panic!("waker clone panics"), |_| {}, |_| {}, |_| {});

#[test]
fn a_sleep_polled_with_a_waker_whose_clone_panics_still_wakes_the_next_one() {
    within(10, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let mut s = {
            let _g = rt.enter();
            Box::pin(runtime_core::time::sleep(Duration::from_millis(30)))
        };
        // SAFETY: the vtable's functions never read the data pointer.
        let bad =
            unsafe { Waker::from_raw(std::task::RawWaker::new(std::ptr::null(), &BAD_CLONE)) };
        // The first poll files the timer; polls after it register the
        // waker (the clone panics there).
        let count = Arc::new(CountWake(AtomicUsize::new(0)));
        let good = Waker::from(count.clone());
        assert!(s
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending());
        let r = catch_unwind(AssertUnwindSafe(|| {
            s.as_mut().poll(&mut Context::from_waker(&bad))
        }));
        assert!(r.is_err());
        assert!(s
            .as_mut()
            .poll(&mut Context::from_waker(&good))
            .is_pending());
        // Registered, not woken at once (a slot stuck mid-registration
        // wakes every poll's waker right away: a busy loop).
        assert_eq!(count.0.load(SeqCst), 0);
        rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(60)).await });
        assert_eq!(
            count.0.load(SeqCst),
            1,
            "the sleep's waker slot was left stuck"
        );
        assert!(s.as_mut().poll(&mut Context::from_waker(&good)).is_ready());
    });
}

/// Two fds ready in the same reactor turn; the first one's waker panics:
/// the second one's event is still dispatched (edge-triggered: it would be
/// lost otherwise).
#[test]
fn an_io_waker_panic_does_not_lose_the_other_events_of_the_turn() {
    use runtime_core::io::AsyncFd;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    within(20, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let (a0, mut a1) = UnixStream::pair().unwrap();
        let (b0, mut b1) = UnixStream::pair().unwrap();
        a0.set_nonblocking(true).unwrap();
        b0.set_nonblocking(true).unwrap();
        let (fa, fb) = rt.block_on(async move {
            (
                AsyncFd::new(a0).unwrap(),
                Arc::new(AsyncFd::new(b0).unwrap()),
            )
        });
        rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(10)).await });
        let w = Waker::from(Arc::new(PanicWake));
        assert!(fa
            .poll_read_ready(&mut Context::from_waker(&w))
            .is_pending());
        let fb2 = fb.clone();
        let h = rt.spawn(async move {
            fb2.readable().await.map(|_| ()).unwrap();
        });
        rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(10)).await });
        a1.write_all(b"x").unwrap();
        b1.write_all(b"x").unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { runtime_core::time::sleep(Duration::from_millis(50)).await })
        }));
        assert!(r.is_err(), "the waker's panic reaches block_on's caller");
        let got =
            rt.block_on(async { runtime_core::time::timeout(Duration::from_secs(2), h).await });
        assert!(got.is_ok(), "the other fd's readable() was never woken");
    });
}
