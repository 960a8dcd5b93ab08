//! `join!`: await several futures concurrently on the current task and
//! return all their outputs as a tuple.
//!
//! Design: every future is wrapped in a `MaybeDone` (which keeps the output
//! once the future completes) and pinned on the stack with `pin!`; a single
//! `poll_fn` polls the not-yet-done ones. Each poll starts at a different
//! future (rotating by one per poll) so that no future is always polled
//! first and starves the others of, e.g., cooperative budget; with
//! `biased;` the order is always the written one.
//!
//! Invariants:
//! - A future is never polled again once it has completed (`MaybeDone`
//!   holds its output instead).
//! - The outputs are taken only when every future is done, so the tuple is
//!   always complete and in the written order, whatever the completion order.

/// Waits on multiple concurrent futures, returning when **all** of them
/// complete.
///
/// `join!` must be used inside an async function, block or closure. It takes
/// a comma-separated list of expressions whose values implement
/// [`IntoFuture`](std::future::IntoFuture), evaluates them in order, then
/// drives all the resulting futures concurrently *on the current task* and
/// evaluates to a tuple of their outputs, in the order written.
///
/// Because everything runs on one task, the futures run concurrently but not
/// in parallel: to run work in parallel, [`spawn`](crate::spawn) it and join
/// the handles.
///
/// If the futures return `Result`, `join!` still waits for all of them,
/// even after one fails; [`try_join!`](crate::try_join) returns at the first
/// `Err` instead.
///
/// # Fairness
///
/// Each time the combined future is polled it starts polling from the next
/// future in turn, so a future that is always ready cannot monopolise the
/// task's budget. Start the list with `biased;` to poll in the written order
/// every time instead (useful in tests, or when earlier futures must be
/// preferred).
///
/// Any number of futures is supported (the macro recurses once per future,
/// within the default recursion limit). `join!()` evaluates to `()`.
///
/// # Examples
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// async fn double(x: u32) -> u32 { x * 2 }
/// async fn greet() -> &'static str { "hello" }
///
/// let (a, b, c) = runtime_core::join!(double(1), greet(), async { 3 });
/// assert_eq!((a, b, c), (2, "hello", 3));
/// # });
/// ```
///
/// Both futures make progress together: here each needs the other.
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use futures::channel::oneshot;
///
/// let (tx1, rx1) = oneshot::channel();
/// let (tx2, rx2) = oneshot::channel();
/// let (from_b, from_a) = runtime_core::join!(
///     async { tx1.send("ping").unwrap(); rx2.await.unwrap() },
///     async { let got = rx1.await.unwrap(); tx2.send("pong").unwrap(); got },
/// );
/// assert_eq!((from_b, from_a), ("pong", "ping"));
/// # });
/// ```
///
/// With `biased;` the futures are polled in the written order:
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let log = std::cell::RefCell::new(Vec::new());
/// runtime_core::join!(
///     biased;
///     async { log.borrow_mut().push(1) },
///     async { log.borrow_mut().push(2) },
/// );
/// assert_eq!(*log.borrow(), [1, 2]);
/// # });
/// ```
#[macro_export]
macro_rules! join {
    // Normalised: `( _ _ _ )` counts all futures; each future is preceded by
    // its skip group (one `_` per earlier future).
    (@ {
        biased = $biased:literal;
        ( $($count:tt)* )
        $( ( $($skip:tt)* ) $e:expr, )*
    }) => {{
        // Evaluate every expression in order, then pin each future (wrapped
        // in `MaybeDone`) in this frame; the tuple holds `Pin<&mut _>`s.
        let mut futures = ( $(
            $crate::macros::support::pin!($crate::macros::support::maybe_done(
                $crate::macros::support::IntoFuture::into_future($e)
            )),
        )* );
        // (Locals, not items: `macro_rules!` hygiene keeps them invisible to
        // the caller's expressions, which an item in this block would not be.)
        let count: u32 = $crate::macros::support::select_priv_count!($($count)*);
        // Where the next poll starts (rotates unless biased).
        let mut start: u32 = 0;

        $crate::macros::support::poll_fn(|cx| {
            let mut is_pending = false;
            for offset in 0..count {
                let index = (start + offset) % count;
                $(
                    if index == $crate::macros::support::select_priv_count!($($skip)*) {
                        let ( $($skip,)* fut, .. ) = &mut futures;
                        if $crate::macros::support::Future::poll(fut.as_mut(), cx).is_pending() {
                            is_pending = true;
                        }
                    }
                )*
            }
            if !$biased {
                start = (start + 1) % count;
            }
            if is_pending {
                return $crate::macros::support::Poll::Pending;
            }
            $crate::macros::support::Poll::Ready(( $( {
                let ( $($skip,)* fut, .. ) = &mut futures;
                fut.as_mut()
                    .take_output()
                    .expect("join!: a completed future's output was already taken")
            }, )* ))
        }).await
    }};

    // Munch one future.
    (@ { biased = $biased:literal; ( $($s:tt)* ) $($t:tt)* } $e:expr, $($rest:tt)* ) => {
        $crate::join!(@ { biased = $biased; ( $($s)* _ ) $($t)* ( $($s)* ) $e, } $($rest)*)
    };

    // Entry points.
    ( biased; $($e:expr),+ $(,)? ) => {
        $crate::join!(@ { biased = true; () } $($e,)*)
    };
    ( $($e:expr),+ $(,)? ) => {
        $crate::join!(@ { biased = false; () } $($e,)*)
    };
    ( $(biased;)? ) => { () };
}
