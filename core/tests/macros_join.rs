//! `join!`: outputs in written order, real concurrency, rotation fairness,
//! `biased;`, many futures, `IntoFuture` arguments.
//!
//! Runs on `futures::executor::block_on` (the macro needs no runtime).
use futures::channel::oneshot;
use futures::executor::block_on;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that is pending `n` times (waking itself) before yielding `v`.
struct PendingTimes<T> {
    n: usize,
    v: Option<T>,
}

impl<T: Unpin> Future for PendingTimes<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.n == 0 {
            Poll::Ready(self.v.take().expect("polled after completion"))
        } else {
            self.n -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn pending_times<T>(n: usize, v: T) -> PendingTimes<T> {
    PendingTimes { n, v: Some(v) }
}

#[test]
fn outputs_in_written_order_whatever_completion_order() {
    let out = block_on(async {
        runtime_core::join!(
            pending_times(3, "slow"),
            pending_times(0, 1u8),
            pending_times(1, 'c'),
        )
    });
    assert_eq!(out, ("slow", 1u8, 'c'));
}

#[test]
fn futures_run_concurrently() {
    // Each future needs the other to progress: sequential awaiting deadlocks.
    let (tx_a, rx_a) = oneshot::channel::<u32>();
    let (tx_b, rx_b) = oneshot::channel::<u32>();
    let (a, b) = block_on(async {
        runtime_core::join!(
            async move {
                tx_a.send(1).unwrap();
                rx_b.await.unwrap() + 10
            },
            async move {
                let got = rx_a.await.unwrap();
                tx_b.send(got + 1).unwrap();
                got + 100
            },
        )
    });
    assert_eq!((a, b), (12, 101));
}

#[test]
fn completed_future_is_not_polled_again() {
    // `PendingTimes` panics if polled after completion.
    let out = block_on(async { runtime_core::join!(pending_times(0, 1), pending_times(5, 2)) });
    assert_eq!(out, (1, 2));
}

/// Records, each time it is polled, its id into `log`; never completes
/// before `rounds` polls.
struct Logger<'a> {
    id: usize,
    left: usize,
    log: &'a RefCell<Vec<usize>>,
}

impl Future for Logger<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.log.borrow_mut().push(self.id);
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn start_rotates_between_polls() {
    let log = RefCell::new(Vec::new());
    let l = |id| Logger {
        id,
        left: 2,
        log: &log,
    };
    block_on(async { runtime_core::join!(l(0), l(1), l(2)) });
    // Three polls of the join, each polling all three (none finishes before
    // its third poll); each round starts one further along.
    assert_eq!(*log.borrow(), [0, 1, 2, 1, 2, 0, 2, 0, 1]);
}

#[test]
fn biased_polls_in_written_order_every_time() {
    let log = RefCell::new(Vec::new());
    let l = |id| Logger {
        id,
        left: 2,
        log: &log,
    };
    block_on(async { runtime_core::join!(biased; l(0), l(1), l(2)) });
    assert_eq!(*log.borrow(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

#[test]
fn many_futures() {
    let out = block_on(async {
        runtime_core::join!(
            pending_times(1, 0),
            pending_times(2, 1),
            pending_times(0, 2),
            pending_times(3, 3),
            pending_times(1, 4),
            pending_times(0, 5),
            pending_times(2, 6),
            pending_times(1, 7),
            pending_times(0, 8),
            pending_times(4, 9),
            pending_times(1, 10),
            pending_times(2, 11),
            pending_times(0, 12),
            pending_times(3, 13),
            pending_times(1, 14),
            pending_times(0, 15),
            pending_times(2, 16),
            pending_times(5, 17),
            pending_times(0, 18),
            pending_times(1, 19),
        )
    });
    let (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19) =
        out;
    let got = [
        a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19,
    ];
    let want: Vec<i32> = (0..20).collect();
    assert_eq!(got.to_vec(), want);
}

#[test]
fn single_and_empty() {
    block_on(async {
        let (one,) = runtime_core::join!(async { 1 });
        assert_eq!(one, 1);
        let unit: () = runtime_core::join!();
        let () = unit;
    });
}

struct Later(u32);

impl IntoFuture for Later {
    type Output = u32;
    type IntoFuture = PendingTimes<u32>;
    fn into_future(self) -> PendingTimes<u32> {
        pending_times(1, self.0)
    }
}

#[test]
fn accepts_into_future_and_evaluates_in_order() {
    let order = RefCell::new(Vec::new());
    let out = block_on(async {
        runtime_core::join!(
            {
                order.borrow_mut().push("first");
                Later(1)
            },
            {
                order.borrow_mut().push("second");
                async { 2 }
            },
        )
    });
    assert_eq!(out, (1, 2));
    assert_eq!(*order.borrow(), ["first", "second"]);
}

#[test]
fn caller_names_do_not_collide_with_expansion() {
    // The expansion's locals (`futures`, `count`, `start`...) must not
    // capture the caller's.
    let count = 7;
    let futures = 8;
    let start = 9;
    let out = block_on(async { runtime_core::join!(async { count }, async { futures + start }) });
    assert_eq!(out, (7, 17));
}
