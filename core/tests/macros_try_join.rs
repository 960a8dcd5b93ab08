//! `try_join!`: all `Ok` values in order, the first `Err` returned at once
//! with the other futures dropped, concurrency, `biased;`.
//!
//! Runs on `futures::executor::block_on` (the macro needs no runtime).
use futures::channel::oneshot;
use futures::executor::block_on;
use std::cell::Cell;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Pending `n` times (waking itself), then ready with `v`.
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

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn all_ok_gives_tuple_in_order() {
    let out: Result<(u8, &str, char), ()> = block_on(async {
        runtime_core::try_join!(
            pending_times(2, Ok(1u8)),
            pending_times(0, Ok("two")),
            pending_times(1, Ok('3')),
        )
    });
    assert_eq!(out, Ok((1, "two", '3')));
}

#[test]
fn first_err_returns_immediately_and_drops_the_others() {
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let out: Result<((), u32), &str> = block_on(async {
        let out = runtime_core::try_join!(
            async move {
                let _flag = flag;
                // Never completes: without short-circuit this would hang.
                pending::<Result<(), &str>>().await
            },
            pending_times(2, Err("boom")),
        );
        // The never-completing future was dropped before try_join! returned.
        assert!(dropped.get(), "other futures must be dropped on error");
        out
    });
    assert_eq!(out, Err("boom"));
}

#[test]
fn first_error_observed_wins() {
    let out: Result<((), ()), u32> = block_on(async {
        runtime_core::try_join!(biased; pending_times(3, Err(1)), pending_times(1, Err(2)))
    });
    assert_eq!(out, Err(2));
}

#[test]
fn waits_for_every_ok() {
    // Completed `Ok`s are kept until the last future (here fed by the
    // second) is done.
    let (tx, rx) = oneshot::channel::<u32>();
    let out: Result<(u32, u32), oneshot::Canceled> = block_on(async {
        runtime_core::try_join!(
            async { Ok(5) },
            async move {
                tx.send(6).unwrap();
                Ok(0)
            },
            rx
        )
        .map(|(a, _, c)| (a, c))
    });
    assert_eq!(out, Ok((5, 6)));
}

#[test]
fn futures_run_concurrently() {
    let (tx_a, rx_a) = oneshot::channel::<u32>();
    let (tx_b, rx_b) = oneshot::channel::<u32>();
    let out: Result<(u32, u32), oneshot::Canceled> = block_on(async {
        runtime_core::try_join!(
            async move {
                tx_a.send(1).unwrap();
                rx_b.await
            },
            async move {
                let v = rx_a.await?;
                tx_b.send(v + 1).unwrap();
                Ok(v)
            },
        )
    });
    assert_eq!(out, Ok((2, 1)));
}

#[test]
fn works_with_question_mark() {
    async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
        s.parse()
    }
    async fn sum(a: &str, b: &str) -> Result<u32, std::num::ParseIntError> {
        let (x, y) = runtime_core::try_join!(parse(a), parse(b))?;
        Ok(x + y)
    }
    block_on(async {
        assert_eq!(sum("2", "40").await, Ok(42));
        assert!(sum("2", "forty").await.is_err());
    });
}

#[test]
fn single_and_empty() {
    block_on(async {
        let one: Result<(u8,), ()> = runtime_core::try_join!(async { Ok(1u8) });
        assert_eq!(one, Ok((1,)));
        let empty: Result<(), ()> = runtime_core::try_join!();
        assert_eq!(empty, Ok(()));
    });
}
