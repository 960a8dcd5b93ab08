//! Panics raised by user code inside the task cell (in `poll`, in the
//! future's `Drop` on completion or cancellation, in the output's `Drop`)
//! are caught by the harness, delivered as `JoinError::Panic` where there is
//! a joiner, and never unwind into the scheduler or leak the cell.
use super::mock::{join_now, Ctl, DropCount, Sched};
use std::future::{pending, poll_fn};
use std::task::Poll;

/// Panics in its `Drop`.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

fn payload(err: crate::task::JoinError) -> String {
    let p = err.into_panic();
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn panic_in_poll_is_delivered_to_the_joiner() {
    let s = Sched::new();
    let d = DropCount::new();
    let t = d.track();
    let mut jh = s.spawn(poll_fn(move |_| -> Poll<()> {
        let _keep = &t;
        panic!("boom in poll")
    }));
    s.run_all();
    assert_eq!(d.get(), 1, "future dropped after the panic");
    let err = join_now(&mut jh).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(payload(err), "boom in poll");
    drop(jh);
    s.assert_clean();
}

#[test]
fn panic_in_poll_of_detached_task() {
    let s = Sched::new();
    drop(s.spawn(poll_fn(|_| -> Poll<()> { panic!("detached") })));
    s.run_all();
    s.assert_clean();
}

#[test]
fn panic_in_future_drop_after_ready() {
    let s = Sched::new();
    let guard = PanicOnDrop("boom in drop");
    let mut jh = s.spawn(async move {
        let _g = &guard;
        3
    });
    s.run_all();
    let err = join_now(&mut jh).unwrap_err();
    assert_eq!(payload(err), "boom in drop");
    drop(jh);
    s.assert_clean();
}

#[test]
fn panic_in_future_drop_on_abort() {
    let s = Sched::new();
    let guard = PanicOnDrop("boom on cancel");
    let mut jh = s.spawn(async move {
        let _g = &guard;
        pending::<()>().await
    });
    s.run_all();
    jh.abort();
    s.run_all();
    let err = join_now(&mut jh).unwrap_err();
    assert!(
        err.is_panic(),
        "a panic while cancelling is reported as such"
    );
    drop(jh);
    s.assert_clean();
}

#[test]
fn panic_in_future_drop_on_shutdown() {
    let s = Sched::new();
    let guard = PanicOnDrop("boom on shutdown");
    let mut jh = s.spawn(async move {
        let _g = &guard;
        pending::<()>().await
    });
    s.run_all();
    s.shutdown();
    assert!(join_now(&mut jh).unwrap_err().is_panic());
    drop(jh);
    s.assert_clean();
}

#[test]
fn panic_in_output_drop_by_join_handle() {
    let s = Sched::new();
    let jh = s.spawn(async { PanicOnDrop("boom in output") });
    s.run_all();
    drop(jh); // must not unwind
    s.assert_clean();
}

#[test]
fn panic_in_output_drop_of_detached_task() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let jh = s.spawn(async move {
        fut.await;
        PanicOnDrop("boom in detached output")
    });
    s.run_all();
    drop(jh);
    ctl.set_ready();
    ctl.take_waker().unwrap().wake();
    s.run_all(); // the completer drops the output; must not unwind
    s.assert_clean();
}

#[test]
fn panic_payload_whose_drop_panics_does_not_escape() {
    // The payload itself panics when dropped: dropping the JoinError is the
    // user's business, but the cell must still be freed.
    let s = Sched::new();
    let mut jh = s.spawn(poll_fn(|_| -> Poll<()> {
        std::panic::panic_any(PanicOnDrop("payload"))
    }));
    s.run_all();
    let err = join_now(&mut jh).unwrap_err();
    drop(jh);
    s.assert_clean();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(err)));
    assert!(r.is_err());
}
