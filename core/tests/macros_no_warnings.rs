//! The macros expand to warning-free code in the caller's crate, including
//! when every handler diverges (`break`, `continue`, `return`) and when every
//! pattern is irrefutable. This file fails to *compile* on any warning.
#![deny(warnings)]
use std::future::ready;

#[test]
fn expansions_are_warning_free() {
    futures::executor::block_on(async {
        let mut n = 0;
        loop {
            n += 1;
            if n > 3 {
                break;
            }
            runtime_core::select! {
                _ = ready(()) => continue,
                else => break,
            }
        }
        let mut i = 0;
        let _x: u32 = loop {
            i += 1;
            runtime_core::select! {
                v = ready(i), if i > 2 => break v,
                else => continue,
            }
        };
        let r: Result<u32, ()> = async {
            let x = runtime_core::select! {
                v = ready(Err(())) => return v,
                v = ready(2) => v,
            };
            Ok(x)
        }
        .await;
        let _ = r;
        let _y = runtime_core::select! { v = ready(1) => v, w = ready(2) => w };
        let _z = runtime_core::select! { Some(v) = ready(Some(1)) => v, else => 0 };
        let _w = runtime_core::join!(ready(1), ready(2));
        let _t: Result<(u8, u8), ()> = runtime_core::try_join!(ready(Ok(1)), ready(Ok(2)));
    });
}
