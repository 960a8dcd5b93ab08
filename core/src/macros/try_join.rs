//! `try_join!`: await several `Result` futures concurrently on the current
//! task; return all the `Ok` values, or the first `Err` as soon as it
//! appears.
//!
//! Design: as `join!` (each future in a stack-pinned `MaybeDone`, one
//! `poll_fn`, rotating start index unless `biased;`), plus a check after
//! every completion: an `Err` output is taken out and returned at once.
//!
//! Invariants:
//! - The first `Err` *observed* wins; futures not yet done are never polled
//!   again and are dropped when the macro's block ends, i.e. before the
//!   caller sees the error.
//! - `Ok` outputs are unwrapped only when every future has completed with
//!   `Ok`.

/// Waits on multiple concurrent futures that return `Result`, returning
/// `Ok` with a tuple of all the values once **all** succeed, or the **first**
/// `Err`.
///
/// `try_join!` must be used inside an async function, block or closure. Its
/// arguments are expressions implementing
/// [`IntoFuture`](std::future::IntoFuture) with `Output = Result<T_i, E>`
/// (the error type must be the same for all). They are evaluated in order
/// and driven concurrently *on the current task*.
///
/// As soon as one of them completes with `Err(e)`, `try_join!` evaluates to
/// `Err(e)`: the other futures are dropped (cancelled) without being polled
/// again. To run work in parallel, [`spawn`](crate::spawn) it and
/// `try_join!` the handles.
///
/// As with [`join!`](crate::join), the starting future rotates between polls
/// for fairness; put `biased;` first to always poll in the written order.
///
/// # Examples
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> { s.parse() }
///
/// let both = runtime_core::try_join!(parse("1"), parse("2"));
/// assert_eq!(both, Ok((1, 2)));
///
/// let failed = runtime_core::try_join!(parse("1"), parse("x"), std::future::pending::<Result<u32, _>>());
/// assert!(failed.is_err()); // returned even though the third never completes
/// # });
/// ```
///
/// Inside a function returning `Result`, combine it with `?`:
///
/// ```
/// # runtime_core::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// async fn fetch(id: u32) -> Result<String, String> {
///     if id == 0 { Err("no such id".into()) } else { Ok(format!("item {id}")) }
/// }
///
/// async fn fetch_pair() -> Result<(String, String), String> {
///     let (a, b) = runtime_core::try_join!(fetch(1), fetch(2))?;
///     Ok((a, b))
/// }
/// assert_eq!(fetch_pair().await.unwrap().1, "item 2");
/// # });
/// ```
#[macro_export]
macro_rules! try_join {
    (@ {
        biased = $biased:literal;
        ( $($count:tt)* )
        $( ( $($skip:tt)* ) $e:expr, )*
    }) => {{
        let mut futures = ( $(
            $crate::macros::support::pin!($crate::macros::support::maybe_done(
                $crate::macros::support::IntoFuture::into_future($e)
            )),
        )* );
        let count: u32 = $crate::macros::support::select_priv_count!($($count)*);
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
                        } else if ::core::result::Result::is_err(
                            fut.as_mut()
                                .output_mut()
                                .expect("try_join!: a completed future has no output"),
                        ) {
                            let output = fut
                                .as_mut()
                                .take_output()
                                .expect("try_join!: a completed future has no output");
                            return $crate::macros::support::Poll::Ready(
                                ::core::result::Result::Err(
                                    ::core::result::Result::err(output)
                                        .expect("try_join!: checked to be `Err`"),
                                ),
                            );
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
            $crate::macros::support::Poll::Ready(::core::result::Result::Ok(( $( {
                let ( $($skip,)* fut, .. ) = &mut futures;
                let output = fut
                    .as_mut()
                    .take_output()
                    .expect("try_join!: a completed future's output was already taken");
                ::core::result::Result::ok(output).expect("try_join!: checked to be `Ok`")
            }, )* )))
        }).await
    }};

    (@ { biased = $biased:literal; ( $($s:tt)* ) $($t:tt)* } $e:expr, $($rest:tt)* ) => {
        $crate::try_join!(@ { biased = $biased; ( $($s)* _ ) $($t)* ( $($s)* ) $e, } $($rest)*)
    };

    ( biased; $($e:expr),+ $(,)? ) => {
        $crate::try_join!(@ { biased = true; () } $($e,)*)
    };
    ( $($e:expr),+ $(,)? ) => {
        $crate::try_join!(@ { biased = false; () } $($e,)*)
    };
    ( $(biased;)? ) => { ::core::result::Result::Ok(()) };
}
