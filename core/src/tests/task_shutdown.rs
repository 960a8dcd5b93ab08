//! `OwnedTasks::close_and_shutdown_all`: every listed task is cancelled in
//! whatever state it is (queued, idle, woken, running), queued `Notified`s
//! are then harmless, and `bind` after close returns an already-cancelled
//! task.
use super::mock::{join_now, Ctl, DropCount, Sched};
use std::future::poll_fn;
use std::task::Poll;

#[test]
fn shutdown_cancels_queued_idle_and_woken_tasks() {
    let s = Sched::new();
    let d = DropCount::new();
    // Idle (polled once, pending).
    let (f1, c1) = Ctl::new((), &d);
    let mut j1 = s.spawn(f1);
    s.run_all();
    // Woken: idle, then woken, so its Notified sits in the queue.
    let (f2, c2) = Ctl::new((), &d);
    let mut j2 = s.spawn(f2);
    s.run_all();
    c2.waker().wake();
    // Never polled: its first Notified sits in the queue.
    let (f3, c3) = Ctl::new((), &d);
    let mut j3 = s.spawn(f3);
    // Detached.
    let (f4, c4) = Ctl::new((), &d);
    drop(s.spawn(f4));
    assert_eq!(s.queued(), 3, "f2's wake, f3 and f4's first Notified");
    assert_eq!(s.0.owned.len(), 4);

    s.0.owned.close_and_shutdown_all(1);
    assert_eq!(d.get(), 4, "every future dropped by the shutdown");
    assert_eq!(s.0.owned.len(), 0);
    // The queued Notifieds find complete tasks and just drop their refs.
    assert_eq!(s.queued(), 3);
    assert_eq!(s.run_all(), 3);
    assert_eq!(c1.polls() + c2.polls() + c3.polls() + c4.polls(), 2);
    for j in [&mut j1, &mut j2, &mut j3] {
        assert!(join_now(j).unwrap_err().is_cancelled());
    }
    // Wakers held outside still work (no-ops) after shutdown.
    let w = c1.take_waker().unwrap();
    w.wake_by_ref();
    assert_eq!(s.queued(), 0);
    drop((j1, j2, j3, w, c2.take_waker(), c4.take_waker()));
    s.assert_clean();
}

#[test]
fn bind_after_close_returns_cancelled_task() {
    let s = Sched::new();
    s.shutdown();
    let d = DropCount::new();
    let t = d.track();
    let mut jh = s.spawn(async move { drop(t) });
    assert_eq!(s.queued(), 0, "nothing scheduled after close");
    assert_eq!(d.get(), 1, "future dropped at once");
    assert!(join_now(&mut jh).unwrap_err().is_cancelled());
    drop(jh);
    s.assert_clean();
}

#[test]
fn shutdown_while_task_is_running_cancels_on_return() {
    let s = Sched::new();
    let d = DropCount::new();
    let t = d.track();
    let s2 = s.clone();
    let mut jh = s.spawn(poll_fn(move |_| -> Poll<()> {
        let _keep = &t;
        // The runtime shuts down (from "another thread") mid-poll.
        s2.0.owned.close_and_shutdown_all(0);
        Poll::Pending
    }));
    s.run_all();
    assert_eq!(d.get(), 1);
    assert!(join_now(&mut jh).unwrap_err().is_cancelled());
    drop(jh);
    s.assert_clean();
}

#[test]
fn shutdown_after_completion_with_unread_output() {
    let s = Sched::new();
    let out = DropCount::new();
    let o = out.track();
    let mut jh = s.spawn(async move { o });
    s.run_all();
    s.shutdown();
    assert_eq!(out.get(), 0, "completed output survives shutdown");
    let o = join_now(&mut jh).unwrap();
    drop(o);
    assert_eq!(out.get(), 1);
    drop(jh);
    s.assert_clean();
}
