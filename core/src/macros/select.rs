//! `select!`: wait on several branches at once, run the handler of the
//! first one that completes with a value matching its pattern, and cancel
//! (drop) the rest.
//!
//! # Design
//!
//! `select!` is a `tt`-muncher. Each branch is normalised to
//! `( _ _ ... ) pattern = future, if precondition => handler,` where the
//! skip group holds one `_` per earlier branch; a missing precondition
//! becomes `true`, and a missing `else` becomes a panic. The final rule then
//! expands to:
//!
//! 1. a local module declaring `enum Out<_0, .., _n> { _0(_0), .., Disabled }`
//!    (one generic variant per branch, built by the hidden
//!    `select_priv_declare_output_enum!` proc macro);
//! 2. a `u64` *disabled* mask, with the bit of every branch whose
//!    precondition is false already set (the precondition is evaluated
//!    before any future expression);
//! 3. the futures, evaluated once in the written order and pinned in place
//!    with `pin!` inside a tuple, in an inner block;
//! 4. a `poll_fn` that polls the enabled branches starting from a random one
//!    (or the first one with `biased;`). A branch that completes is disabled
//!    for good; if its output matches its pattern (tested on `&output` with
//!    a binding-free copy of the pattern) the closure returns `Out::_i(output)`,
//!    otherwise polling goes on with the remaining branches. When no branch is
//!    pending any more, it returns `Out::Disabled`;
//! 5. after the inner block has dropped every future, a `match` on `Out`
//!    binds the real pattern and evaluates the handler (or `else`).
//!
//! Invariants:
//! - Handlers run *outside* the polling closure and after the futures are
//!   dropped, so they may `.await`, `break`, `continue`, `return` or `?`, and
//!   may touch whatever the futures borrowed (e.g. reset a `&mut fut`).
//! - A completed future is never polled again (its bit is set before the
//!   pattern test).
//! - The mask has one bit per branch, hence the 64-branch limit.

/// Waits on multiple concurrent branches, returning when the **first**
/// branch completes with a value matching its pattern, and cancelling the
/// others.
///
/// `select!` must be used inside an async function, block or closure. It
/// takes branches of the form
///
/// ```text
/// <pattern> = <async expression> (, if <precondition>)? => <handler>,
/// ```
///
/// optionally followed by one `else => <expression>` branch, and optionally
/// preceded by `biased;`.
///
/// # Lifecycle
///
/// 1. Every `<precondition>` is evaluated, in order. A branch whose
///    precondition is `false` is *disabled* for this `select!`.
/// 2. Every `<async expression>` is evaluated, in order, and turned into a
///    future with [`IntoFuture`](std::future::IntoFuture), including those of
///    disabled branches (which are then never polled). The futures are pinned
///    in place, so `!Unpin` futures work without `Box::pin` or `.fuse()`.
/// 3. The enabled futures are polled concurrently on the current task.
/// 4. When one completes, its branch is disabled and its output is checked
///    against `<pattern>`. If it matches, all futures are dropped and
///    `<handler>` is evaluated with the pattern's bindings; its value is the
///    value of the `select!`. If it does not match, the output is dropped and
///    the other branches keep going.
/// 5. If **all** branches are disabled (preconditions false, or completed
///    without matching), the `else` expression is evaluated. Without an `else`
///    branch, `select!` panics in that case.
///
/// `else` is *not* "nothing is ready yet": a `select!` whose enabled branches
/// are all pending simply waits.
///
/// # Fairness
///
/// By default, each time the `select!` is polled it starts with a randomly
/// chosen branch, so that when several branches are ready each gets its turn
/// over time. With `biased;` as the first token, branches are polled in the
/// written order, so the first ready branch always wins; use it when some
/// branch must take priority (e.g. a shutdown signal), and make sure the
/// early branches cannot starve the others.
///
/// `select!` also respects the task's cooperative budget: when the budget
/// is spent it yields to the scheduler even if a branch is ready.
///
/// # Cancellation
///
/// Losing branches are dropped when the `select!` completes; whatever they
/// had done (e.g. data read into an internal buffer) is lost unless the
/// future is cancel-safe. To keep a future alive across iterations of a
/// `loop`, create it outside the loop, pin it and pass `&mut fut` to the
/// branch.
///
/// At most 64 branches are supported.
///
/// # Panics
///
/// If every branch is disabled and there is no `else` branch.
///
/// # Examples
///
/// The first branch to complete wins:
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use futures::channel::oneshot;
///
/// let (tx1, rx1) = oneshot::channel::<&str>();
/// let (_tx2, rx2) = oneshot::channel::<&str>();
/// tx1.send("one").unwrap();
///
/// let winner = runtime_core::select! {
///     v = rx1 => v.unwrap(),
///     v = rx2 => v.unwrap(),
/// };
/// assert_eq!(winner, "one");
/// # });
/// ```
///
/// Patterns, preconditions and `else`: a branch whose output does not
/// match is disabled and the others go on; `else` runs once nothing is left.
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let allow_second = false;
/// let out = runtime_core::select! {
///     Some(v) = async { None::<u32> } => v,          // completes, does not match: disabled
///     v = async { 2 }, if allow_second => v,       // precondition false: disabled
///     else => 0,
/// };
/// assert_eq!(out, 0);
/// # });
/// ```
///
/// In a loop, with a future that must survive across iterations (passed as
/// `&mut`, so it is not recreated, and not lost, each time round):
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use futures::channel::{mpsc, oneshot};
/// use futures::StreamExt;
///
/// let (tx, mut rx) = mpsc::unbounded::<u32>();
/// let (shutdown_tx, mut shutdown) = oneshot::channel::<()>();
/// for i in 1..=3 {
///     tx.unbounded_send(i).unwrap();
/// }
/// shutdown_tx.send(()).unwrap();
///
/// let mut sum = 0;
/// loop {
///     runtime_core::select! {
///         biased; // drain queued messages before honouring the shutdown
///         Some(v) = rx.next() => sum += v,
///         _ = &mut shutdown => break,
///     }
/// }
/// assert_eq!(sum, 6);
/// # });
/// ```
#[macro_export]
macro_rules! select {
    // ---- Final rule: everything is normalised; generate the code. ----
    (@ {
        biased = $biased:literal;
        ( $($count:tt)* )
        $( ( $($skip:tt)* ) $bind:pat = $fut:expr, if $c:expr => $handle:expr, )+
    }; $else:expr) => {{
        mod __runtime_select_util {
            $crate::macros::support::select_priv_declare_output_enum!(( $($count)* ));
        }

        // 1. Preconditions, before any future expression.
        let mut disabled: u64 = 0;
        $(
            if !$c {
                disabled |= 1u64 << $crate::macros::support::select_priv_count!($($skip)*);
            }
        )+

        // 2-4. Futures live only in this block: dropped before the handler.
        let output = {
            let mut futures = ( $(
                $crate::macros::support::pin!(
                    $crate::macros::support::IntoFuture::into_future($fut)
                ),
            )+ );
            let branches: u32 = $crate::macros::support::select_priv_count!($($count)*);

            $crate::macros::support::poll_fn(|cx| {
                if $crate::macros::support::poll_budget_available(cx).is_pending() {
                    return $crate::macros::support::Poll::Pending;
                }
                let start: u32 = if $biased {
                    0
                } else {
                    $crate::macros::support::thread_rng_n(branches)
                };
                let mut is_pending = false;
                for offset in 0..branches {
                    let branch = (start + offset) % branches;
                    $(
                        if branch == $crate::macros::support::select_priv_count!($($skip)*) {
                            let mask: u64 =
                                1u64 << $crate::macros::support::select_priv_count!($($skip)*);
                            if disabled & mask == 0 {
                                let ( $($skip,)* fut, .. ) = &mut futures;
                                match $crate::macros::support::Future::poll(fut.as_mut(), cx) {
                                    $crate::macros::support::Poll::Ready(out) => {
                                        // Completed: never poll it again.
                                        disabled |= mask;
                                        #[allow(unused_variables, unused_mut, unreachable_patterns)]
                                        match &out {
                                            $crate::macros::support::select_priv_clean_pattern!($bind) => {
                                                return $crate::macros::support::Poll::Ready(
                                                    $crate::macros::support::select_priv_variant!(
                                                        __runtime_select_util::Out, ( $($skip)* )
                                                    )(out),
                                                );
                                            }
                                            // No match: this branch is disabled, keep polling the others.
                                            _ => {}
                                        }
                                    }
                                    $crate::macros::support::Poll::Pending => is_pending = true,
                                }
                            }
                        }
                    )+
                }
                if is_pending {
                    $crate::macros::support::Poll::Pending
                } else {
                    $crate::macros::support::Poll::Ready(__runtime_select_util::Out::Disabled)
                }
            }).await
        };

        // 5. Bind the real pattern and run the handler.
        match output {
            $(
                $crate::macros::support::select_priv_variant!(
                    __runtime_select_util::Out, ( $($skip)* ) ($bind)
                ) => $handle,
            )+
            __runtime_select_util::Out::Disabled => $else,
            // Unreachable when every pattern is irrefutable.
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select!: a branch's output stopped matching its pattern"),
        }
    }};

    // ---- `else` and end of input. ----
    (@ { $($t:tt)* } else => $else:expr $(,)?) => {
        $crate::select!(@ { $($t)* }; $else)
    };
    (@ { $($t:tt)* }) => {
        $crate::select!(@ { $($t)* }; ::core::panic!(
            "all branches are disabled and there is no else branch"
        ))
    };

    // ---- Munch one branch (block handlers first, as in a `match`). ----
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:block, $($r:tt)*) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if $c => $h, } $($r)*)
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr => $h:block, $($r:tt)*) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if true => $h, } $($r)*)
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:block $($r:tt)*) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if $c => $h, } $($r)*)
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr => $h:block $($r:tt)*) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if true => $h, } $($r)*)
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:expr, $($r:tt)*) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if $c => $h, } $($r)*)
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr => $h:expr, $($r:tt)*) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if true => $h, } $($r)*)
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr, if $c:expr => $h:expr) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if $c => $h, })
    };
    (@ { biased = $b:literal; ( $($s:tt)* ) $($t:tt)* }
        $p:pat = $f:expr => $h:expr) => {
        $crate::select!(@ { biased = $b; ( $($s)* _ ) $($t)* ( $($s)* ) $p = $f, if true => $h, })
    };

    // ---- Entry points. ----
    () => {
        ::core::compile_error!("select! requires at least one branch")
    };
    (biased; $(,)?) => {
        ::core::compile_error!("select! requires at least one branch")
    };
    ($(biased;)? else => $($t:tt)*) => {
        ::core::compile_error!("select! requires at least one branch besides `else`")
    };
    (biased; $p:pat = $($t:tt)*) => {
        $crate::select!(@ { biased = true; () } $p = $($t)*)
    };
    ($p:pat = $($t:tt)*) => {
        $crate::select!(@ { biased = false; () } $p = $($t)*)
    };
}
