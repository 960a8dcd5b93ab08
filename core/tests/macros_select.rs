//! `select!`: fairness, `biased;`, pattern mismatch and preconditions
//! disabling branches, `else` only when every branch is disabled, the panic
//! without `else`, `&mut` futures in loops, handler control flow, and the
//! 64-branch maximum.
//!
//! Runs on `futures::executor::block_on` (the macro needs no runtime).
use futures::channel::{mpsc, oneshot};
use futures::executor::block_on;
use futures::StreamExt;
use std::cell::{Cell, RefCell};
use std::future::{pending, ready, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

/// Pending `n` times (waking itself), then ready with `v`; panics if polled
/// after completion.
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

/// Panics when polled.
struct MustNotPoll;

impl Future for MustNotPoll {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        panic!("a disabled branch was polled");
    }
}

#[test]
fn random_order_is_fair_between_ready_branches() {
    let mut wins = [0u32; 2];
    block_on(async {
        for _ in 0..1000 {
            let i = runtime_core::select! {
                v = ready(0) => v,
                v = ready(1) => v,
            };
            wins[i] += 1;
        }
    });
    // Expected ~500 each; 200 is > 18 standard deviations away.
    assert!(wins[0] >= 200 && wins[1] >= 200, "unfair: {wins:?}");
}

#[test]
fn random_order_reaches_every_branch_of_many() {
    let mut wins = [0u32; 4];
    block_on(async {
        for _ in 0..400 {
            let i = runtime_core::select! {
                v = ready(0) => v,
                v = ready(1) => v,
                v = ready(2) => v,
                v = ready(3) => v,
            };
            wins[i] += 1;
        }
    });
    assert!(wins.iter().all(|w| *w >= 40), "unfair: {wins:?}");
}

#[test]
fn biased_always_picks_first_ready_branch() {
    block_on(async {
        for _ in 0..1000 {
            let i = runtime_core::select! {
                biased;
                v = ready(0) => v,
                v = ready(1) => v,
            };
            assert_eq!(i, 0);
        }
        // First pending, second ready: second wins.
        let i = runtime_core::select! {
            biased;
            v = pending::<u32>() => v,
            v = ready(1) => v,
            v = ready(2) => v,
        };
        assert_eq!(i, 1);
    });
}

#[test]
fn first_to_complete_wins() {
    let out = block_on(async {
        runtime_core::select! {
            v = pending_times(5, "slow") => v,
            v = pending_times(2, "fast") => v,
        }
    });
    assert_eq!(out, "fast");
}

#[test]
fn pattern_mismatch_disables_branch_and_others_continue() {
    let out = block_on(async {
        runtime_core::select! {
            // Completes first with `None`: disabled, never polled again
            // (`PendingTimes` would panic).
            Some(v) = pending_times(0, None::<u32>) => v,
            v = pending_times(3, 7u32) => v + 100,
        }
    });
    assert_eq!(out, 107);
}

#[test]
fn false_precondition_disables_branch_but_evaluates_its_future() {
    let evaluated = Cell::new(0);
    let out = block_on(async {
        runtime_core::select! {
            v = { evaluated.set(evaluated.get() + 1); MustNotPoll }, if false => v,
            v = pending_times(1, 2u32), if true => v,
        }
    });
    assert_eq!(out, 2);
    assert_eq!(
        evaluated.get(),
        1,
        "future expression evaluated exactly once"
    );
}

#[test]
fn preconditions_are_evaluated_before_futures() {
    let order = RefCell::new(Vec::new());
    block_on(async {
        runtime_core::select! {
            _ = { order.borrow_mut().push("fut 0"); ready(()) }, if { order.borrow_mut().push("cond 0"); true } => {},
            _ = { order.borrow_mut().push("fut 1"); ready(()) }, if { order.borrow_mut().push("cond 1"); true } => {},
        }
    });
    assert_eq!(*order.borrow(), ["cond 0", "cond 1", "fut 0", "fut 1"]);
}

#[test]
fn else_taken_only_when_all_branches_disabled() {
    block_on(async {
        // All preconditions false.
        let v = runtime_core::select! {
            v = MustNotPoll, if false => v,
            v = MustNotPoll, if false => v,
            else => 99,
        };
        assert_eq!(v, 99);

        // All complete without matching.
        let v = runtime_core::select! {
            Some(v) = pending_times(1, None::<u32>) => v,
            Ok(v) = ready(Err::<u32, ()>(())) => v,
            else => 98,
        };
        assert_eq!(v, 98);

        // Mixed: one disabled by precondition, one by mismatch.
        let v = runtime_core::select! {
            v = MustNotPoll, if false => v,
            Some(v) = ready(None::<u32>) => v,
            else => 97,
        };
        assert_eq!(v, 97);

        // Branches merely pending for a while: `else` is *not* taken.
        let v = runtime_core::select! {
            v = pending_times(4, 1u32) => v,
            else => 96,
        };
        assert_eq!(v, 1);
    });
}

#[test]
#[should_panic(expected = "all branches are disabled and there is no else branch")]
fn panics_when_all_disabled_without_else() {
    block_on(async {
        runtime_core::select! {
            Some(v) = ready(None::<u32>) => v,
            v = MustNotPoll, if false => v,
        }
    });
}

#[test]
fn loop_with_mut_future_keeps_its_progress() {
    let (tx, mut rx) = mpsc::unbounded::<u32>();
    let received = block_on(async {
        // Becomes ready on its 6th poll *in total*, across iterations.
        let mut done = pin!(pending_times(5, "done"));
        let mut received = Vec::new();
        let mut next = 0;
        loop {
            // Keep the channel supplied so that the loop keeps iterating.
            tx.unbounded_send(next).unwrap();
            next += 1;
            runtime_core::select! {
                biased;
                msg = &mut done => {
                    assert_eq!(msg, "done");
                    break;
                }
                Some(v) = rx.next() => received.push(v),
            }
        }
        received
    });
    // Polled once per iteration: five iterations got a message first.
    assert_eq!(received, [0, 1, 2, 3, 4]);
}

#[test]
fn loop_until_all_disabled_with_preconditions() {
    // The classic "drain two channels until both are closed" loop.
    let (tx1, mut rx1) = mpsc::unbounded::<u32>();
    let (tx2, mut rx2) = mpsc::unbounded::<u32>();
    for i in 0..5 {
        tx1.unbounded_send(i).unwrap();
        tx2.unbounded_send(10 + i).unwrap();
    }
    drop((tx1, tx2));
    let (mut open1, mut open2) = (true, true);
    let mut sum = 0;
    let mut iterations = 0;
    block_on(async {
        loop {
            iterations += 1;
            runtime_core::select! {
                v = rx1.next(), if open1 => match v {
                    Some(v) => sum += v,
                    None => open1 = false,
                },
                v = rx2.next(), if open2 => match v {
                    Some(v) => sum += v,
                    None => open2 = false,
                },
                else => break,
            }
        }
    });
    assert_eq!(sum, (0..5).sum::<u32>() + (10..15).sum::<u32>());
    assert_eq!(iterations, 10 + 2 + 1);
}

#[test]
fn handlers_may_await_return_continue_and_use_question_mark() {
    async fn first_even(mut rx: mpsc::UnboundedReceiver<u32>) -> Result<u32, &'static str> {
        loop {
            let v = runtime_core::select! {
                Some(v) = rx.next() => {
                    if v % 2 == 1 {
                        continue;
                    }
                    // Awaiting inside a handler is fine: it runs after the
                    // select's futures are gone.
                    async { v }.await
                }
                else => return Err("closed"),
            };
            let checked: Result<u32, &'static str> = if v > 100 { Err("too big") } else { Ok(v) };
            return Ok(runtime_core::select! { v = ready(checked) => v? });
        }
    }
    block_on(async {
        let (tx, rx) = mpsc::unbounded();
        for v in [1, 3, 4, 5] {
            tx.unbounded_send(v).unwrap();
        }
        assert_eq!(first_even(rx).await, Ok(4));

        let (tx, rx) = mpsc::unbounded::<u32>();
        tx.unbounded_send(7).unwrap();
        drop(tx);
        assert_eq!(first_even(rx).await, Err("closed"));

        let (tx, rx) = mpsc::unbounded::<u32>();
        tx.unbounded_send(200).unwrap();
        assert_eq!(first_even(rx).await, Err("too big"));
    });
}

struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn losing_futures_are_dropped_before_the_handler_runs() {
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    block_on(async {
        runtime_core::select! {
            _ = async move { let _flag = flag; pending::<()>().await } => unreachable!(),
            () = ready(()) => assert!(dropped.get(), "loser still alive in handler"),
        }
    });
}

#[test]
fn binding_modes_and_literal_patterns() {
    block_on(async {
        let v = runtime_core::select! {
            mut x = ready(1) => { x += 1; x }
        };
        assert_eq!(v, 2);

        let s = runtime_core::select! {
            ref s = ready(String::from("owned")) => s.len(),
        };
        assert_eq!(s, 5);

        let v = runtime_core::select! {
            "stop" = ready("go") => 0,
            else => 1,
        };
        assert_eq!(v, 1);
        let v = runtime_core::select! {
            "stop" | "halt" = ready("halt") => 0,
            else => 1,
        };
        assert_eq!(v, 0);

        let v = runtime_core::select! {
            (a, Some(mut b)) = ready((1, Some(String::from("x")))) => { b.push('y'); format!("{a}{b}") }
        };
        assert_eq!(v, "1xy");

        let v = runtime_core::select! {
            &x = ready(&5) => x,
        };
        assert_eq!(v, 5);

        let pair = (String::from("s"), 2);
        let v = runtime_core::select! {
            Some(&(ref a, b)) = ready(Some(&pair)) => a.len() + b,
        };
        assert_eq!(v, 3);

        let v = runtime_core::select! {
            n @ 1..=9 = ready(12) => n,
            else => 0,
        };
        assert_eq!(v, 0);
    });
}

#[test]
fn block_handlers_need_no_comma_and_expressions_may_omit_the_last() {
    let v = block_on(async {
        runtime_core::select! {
            biased;
            v = ready(1) => { v * 10 }
            v = ready(2) => v
        }
    });
    assert_eq!(v, 10);
}

#[test]
fn caller_items_and_locals_do_not_collide_with_expansion() {
    #[derive(Debug, PartialEq)]
    struct Out(u32);
    const BRANCHES: u32 = 5;
    let futures = 1;
    let disabled = 2;
    let output = 3;
    let v = block_on(async {
        runtime_core::select! {
            v = ready(Out(BRANCHES + futures + disabled + output)) => v,
        }
    });
    assert_eq!(v, Out(11));
}

#[test]
fn oneshot_branches() {
    let (tx1, rx1) = oneshot::channel::<u32>();
    let (tx2, rx2) = oneshot::channel::<u32>();
    drop(tx1);
    tx2.send(2).unwrap();
    let v = block_on(async {
        runtime_core::select! {
            Ok(v) = rx1 => v,
            Ok(v) = rx2 => v + 1,
        }
    });
    assert_eq!(v, 3);
}

#[test]
fn sixty_four_branches() {
    macro_rules! sixty_four {
        ($($i:literal)*) => {
            block_on(async {
                runtime_core::select! {
                    biased;
                    $( v = pending_times(($i * 7) % 64 + 1, $i), if $i != 63 => v, )*
                }
            })
        };
    }
    let v: usize = sixty_four!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63
    );
    // Branch `i` is pending `(7 i mod 64) + 1` times: a distinct count per
    // branch (7 is coprime with 64), fewest for branch 0, which must win.
    assert_eq!(v, 0);
}

#[test]
fn nested_selects_and_generic_futures() {
    async fn first_of<A: Future<Output = T>, B: Future<Output = T>, T>(a: A, b: B) -> T {
        runtime_core::select! {
            biased;
            v = a => v,
            v = b => v,
        }
    }
    let v = block_on(async {
        runtime_core::select! {
            biased;
            v = async {
                runtime_core::select! {
                    Some(v) = ready(None::<u32>) => v,
                    else => first_of(pending_times(2, 40), ready(41)).await,
                }
            } => runtime_core::select! { w = ready(1) => v + w },
            v = pending::<u32>() => v,
        }
    });
    assert_eq!(v, 42);
}

#[test]
fn handler_may_reassign_what_the_future_borrowed() {
    let (tx1, rx1) = mpsc::unbounded::<u32>();
    let (tx2, rx2) = mpsc::unbounded::<u32>();
    tx1.unbounded_send(1).unwrap();
    tx2.unbounded_send(2).unwrap();
    let got = block_on(async {
        let mut rx = rx1;
        let mut spare = Some(rx2);
        let mut got = Vec::new();
        while let Some(next) = spare.take() {
            runtime_core::select! {
                // `rx.next()` borrows `rx`; the borrow has ended when the
                // handler runs, so the handler may replace `rx`.
                Some(v) = rx.next() => {
                    got.push(v);
                    rx = next;
                }
            }
        }
        got.push(rx.next().await.unwrap());
        got
    });
    assert_eq!(got, [1, 2]);
}
