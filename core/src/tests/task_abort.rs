//! Abort through `JoinHandle` / `AbortHandle` in every task state: queued
//! before the first poll, idle, running (the task aborts itself), and
//! complete; and `AbortHandle`s outliving the task.
use super::mock::{join_now, Ctl, DropCount, Sched};
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;

#[test]
fn abort_before_first_poll_never_polls() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let mut jh = s.spawn(fut);
    jh.abort();
    jh.abort();
    assert_eq!(s.queued(), 1, "already queued: no second Notified");
    s.run_all();
    assert_eq!(ctl.polls(), 0);
    assert_eq!(d.get(), 1);
    assert!(join_now(&mut jh).unwrap_err().is_cancelled());
    drop(jh);
    s.assert_clean();
}

#[test]
fn abort_idle_task_drops_future_without_polling() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let mut jh = s.spawn(fut);
    s.run_all();
    let w = ctl.take_waker().unwrap();
    let ah = jh.abort_handle();
    ah.abort();
    assert_eq!(s.queued(), 1);
    assert_eq!(s.scheduled(), 1);
    // A wake after the abort does not queue it twice.
    w.wake();
    assert_eq!(s.queued(), 1);
    s.run_all();
    assert_eq!(ctl.polls(), 1, "not polled again after abort");
    assert_eq!(d.get(), 1);
    assert!(ah.is_finished());
    let err = join_now(&mut jh).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.id(), ah.id());
    drop(jh);
    assert_eq!(s.live_cells(), 1, "the AbortHandle keeps the cell");
    drop(ah);
    s.assert_clean();
}

#[test]
fn abort_while_running_then_pending_cancels() {
    let s = Sched::new();
    let slot: Arc<Mutex<Option<crate::task::AbortHandle>>> = Arc::default();
    let d = DropCount::new();
    let t = d.track();
    let slot2 = slot.clone();
    let mut jh = s.spawn(poll_fn(move |_cx| {
        let _keep = &t;
        slot2.lock().unwrap().as_ref().unwrap().abort();
        Poll::<()>::Pending
    }));
    *slot.lock().unwrap() = Some(jh.abort_handle());
    s.run_all();
    assert_eq!(d.get(), 1, "dropped when its poll returned");
    assert_eq!(s.queued(), 0, "not re-queued");
    assert!(join_now(&mut jh).unwrap_err().is_cancelled());
    drop(jh);
    drop(slot.lock().unwrap().take());
    s.assert_clean();
}

#[test]
fn abort_while_running_then_ready_keeps_output() {
    let s = Sched::new();
    let slot: Arc<Mutex<Option<crate::task::AbortHandle>>> = Arc::default();
    let slot2 = slot.clone();
    let mut jh = s.spawn(poll_fn(move |_cx| {
        slot2.lock().unwrap().as_ref().unwrap().abort();
        Poll::Ready(5)
    }));
    *slot.lock().unwrap() = Some(jh.abort_handle());
    s.run_all();
    assert_eq!(join_now(&mut jh).unwrap(), 5);
    drop(jh);
    drop(slot.lock().unwrap().take());
    s.assert_clean();
}

#[test]
fn abort_after_completion_keeps_output() {
    let s = Sched::new();
    let mut jh = s.spawn(async { 1 });
    s.run_all();
    jh.abort();
    assert_eq!(s.queued(), 0);
    assert_eq!(join_now(&mut jh).unwrap(), 1);
    drop(jh);
    s.assert_clean();
}

#[test]
fn abort_handle_outlives_task_and_join_handle() {
    let s = Sched::new();
    let jh = s.spawn(async {});
    let ah = jh.abort_handle();
    let ah2 = ah.clone();
    drop(jh);
    s.run_all();
    assert!(ah.is_finished());
    ah.abort();
    ah2.abort();
    assert_eq!(s.queued(), 0);
    drop(ah);
    assert_eq!(s.live_cells(), 1);
    drop(ah2);
    s.assert_clean();
}

#[test]
fn abort_detached_idle_task() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let jh = s.spawn(fut);
    let ah = jh.abort_handle();
    drop(jh);
    s.run_all();
    drop(ctl.take_waker());
    ah.abort();
    drop(ah);
    assert_eq!(s.live_cells(), 1, "the queued Notified keeps it");
    s.run_all();
    assert_eq!(d.get(), 1);
    s.assert_clean();
}
