//! Task cells driven by hand: first poll, wakes through every waker entry
//! point (clone / wake / wake_by_ref / drop), the join waker, and the
//! `JoinHandle` drop paths. Miri-clean: no syscalls, no threads.
use super::mock::{count_waker, join_now, poll_join, Ctl, DropCount, Sched, Tracked};
use std::future::poll_fn;
use std::task::Poll;

#[test]
fn ready_on_first_poll() {
    let s = Sched::new();
    let mut jh = s.spawn(async { 42 });
    assert_eq!(s.queued(), 1);
    assert!(!jh.is_finished());
    assert_eq!(s.run_all(), 1);
    assert!(jh.is_finished());
    assert_eq!(join_now(&mut jh).unwrap(), 42);
    drop(jh);
    s.assert_clean();
}

#[test]
fn join_handle_registers_and_is_woken_once() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new(7u32, &d);
    let mut jh = s.spawn(fut);
    let (count, w) = count_waker();
    assert!(poll_join(&mut jh, &w).is_pending());
    s.run_all();
    assert!(poll_join(&mut jh, &w).is_pending());
    assert_eq!(count.count(), 0);
    ctl.set_ready();
    ctl.take_waker().unwrap().wake();
    assert_eq!(s.run_all(), 1);
    assert_eq!(count.count(), 1, "joiner woken exactly once");
    assert_eq!(d.get(), 1, "future dropped at completion");
    assert_eq!(join_now(&mut jh).unwrap(), 7);
    drop(jh);
    s.assert_clean();
    // The join waker's clone was released.
    assert_eq!(std::sync::Arc::strong_count(&count), 2);
}

#[test]
fn join_waker_is_replaced_by_a_different_waker() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let mut jh = s.spawn(fut);
    s.run_all();
    let (a, wa) = count_waker();
    let (b, wb) = count_waker();
    assert!(poll_join(&mut jh, &wa).is_pending());
    assert!(poll_join(&mut jh, &wa).is_pending()); // same waker: kept
    assert!(poll_join(&mut jh, &wb).is_pending()); // replaced
    assert_eq!(
        std::sync::Arc::strong_count(&a),
        2,
        "old join waker dropped"
    );
    ctl.set_ready();
    ctl.take_waker().unwrap().wake_by_ref();
    s.run_all();
    assert_eq!(a.count(), 0);
    assert_eq!(b.count(), 1);
    join_now(&mut jh).unwrap();
    drop(jh);
    s.assert_clean();
}

#[test]
fn wake_by_val_on_idle_task_schedules_once() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let mut jh = s.spawn(fut);
    s.run_all();
    let w = ctl.take_waker().unwrap();
    let clones: Vec<_> = (0..4).map(|_| w.clone()).collect();
    assert_eq!(s.live_cells(), 1);
    for c in clones {
        c.wake();
    }
    assert_eq!(s.queued(), 1, "queued exactly once");
    assert_eq!(s.scheduled(), 1);
    ctl.set_ready();
    w.wake();
    assert_eq!(s.run_all(), 1);
    assert_eq!(ctl.polls(), 2);
    join_now(&mut jh).unwrap();
    drop(jh);
    s.assert_clean();
}

#[test]
fn wake_by_ref_on_idle_task_schedules_once() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let jh = s.spawn(fut);
    s.run_all();
    let w = ctl.take_waker().unwrap();
    w.wake_by_ref();
    w.wake_by_ref();
    assert_eq!(s.queued(), 1);
    ctl.set_ready();
    s.run_all();
    drop(w);
    drop(jh);
    assert_eq!(d.get(), 1);
    s.assert_clean();
}

#[test]
fn wake_while_running_reschedules_exactly_once() {
    let s = Sched::new();
    let mut polls = 0;
    let mut jh = s.spawn(poll_fn(move |cx| {
        polls += 1;
        if polls == 1 {
            // Every waker entry point, while RUNNING.
            cx.waker().wake_by_ref();
            let c = cx.waker().clone();
            c.wake_by_ref();
            let by_val = c.clone();
            by_val.wake(); // hands its own reference back
            drop(c);
            Poll::Pending
        } else {
            Poll::Ready(polls)
        }
    }));
    assert_eq!(s.run_all(), 2);
    assert_eq!(s.yielded(), 1, "re-queued once, by the poller");
    assert_eq!(s.scheduled(), 0, "wakers never queue a running task");
    assert_eq!(join_now(&mut jh).unwrap(), 2);
    drop(jh);
    s.assert_clean();
}

#[test]
fn waker_outliving_the_task_frees_the_cell() {
    for by_val in [true, false] {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = Ctl::new((), &d);
        let mut jh = s.spawn(fut);
        s.run_all();
        let w = ctl.take_waker().unwrap();
        ctl.set_ready();
        w.wake_by_ref();
        s.run_all();
        join_now(&mut jh).unwrap();
        drop(jh);
        assert_eq!(s.live_cells(), 1, "the waker keeps the cell");
        // Waking a completed task does nothing but drop the reference.
        w.wake_by_ref();
        assert_eq!(s.queued(), 0);
        if by_val {
            w.wake(); // ToNotified::Dealloc path
        } else {
            drop(w);
        }
        s.assert_clean();
    }
}

#[test]
fn join_handle_dropped_before_completion_output_dropped_by_completer() {
    let s = Sched::new();
    let out = DropCount::new();
    let o = out.track();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new(o, &d);
    let jh = s.spawn(fut);
    s.run_all();
    drop(jh);
    assert_eq!(out.get(), 0);
    ctl.set_ready();
    ctl.take_waker().unwrap().wake();
    s.run_all();
    assert_eq!(out.get(), 1, "output dropped at completion");
    assert_eq!(d.get(), 1);
    s.assert_clean();
}

#[test]
fn join_handle_dropped_after_completion_drops_output() {
    let s = Sched::new();
    let out = DropCount::new();
    let o = out.track();
    let jh = s.spawn(async move { o });
    s.run_all();
    assert_eq!(out.get(), 0, "output kept for the JoinHandle");
    assert_eq!(s.live_cells(), 1);
    drop(jh);
    assert_eq!(out.get(), 1);
    s.assert_clean();
}

#[test]
fn join_handle_dropped_before_first_poll_fast_path() {
    let s = Sched::new();
    let out = DropCount::new();
    let o = out.track();
    drop(s.spawn(async move { o }));
    assert_eq!(s.live_cells(), 1);
    s.run_all();
    assert_eq!(out.get(), 1);
    s.assert_clean();
}

#[test]
fn join_handle_dropped_with_registered_waker() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    let mut jh = s.spawn(fut);
    s.run_all();
    let (count, w) = count_waker();
    assert!(poll_join(&mut jh, &w).is_pending());
    assert_eq!(std::sync::Arc::strong_count(&count), 3);
    drop(jh);
    assert_eq!(
        std::sync::Arc::strong_count(&count),
        2,
        "JoinHandle drop releases the join waker"
    );
    ctl.set_ready();
    ctl.take_waker().unwrap().wake();
    s.run_all();
    assert_eq!(count.count(), 0, "nobody to wake");
    s.assert_clean();
}

#[test]
fn join_waker_set_then_task_completes_then_join_handle_dropped_unread() {
    let s = Sched::new();
    let out = DropCount::new();
    let o: Tracked = out.track();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new(o, &d);
    let mut jh = s.spawn(fut);
    s.run_all();
    let (count, w) = count_waker();
    assert!(poll_join(&mut jh, &w).is_pending());
    ctl.set_ready();
    ctl.take_waker().unwrap().wake();
    s.run_all();
    assert_eq!(count.count(), 1);
    drop(jh);
    assert_eq!(out.get(), 1);
    assert_eq!(std::sync::Arc::strong_count(&count), 2);
    s.assert_clean();
}

#[test]
fn unowned_task_runs_and_joins() {
    let s = Sched::new();
    let (n, mut jh) = crate::task::raw::unowned(async { "x" }, s.clone(), crate::task::Id::next());
    assert_eq!(s.0.owned.len(), 0);
    n.run();
    assert_eq!(join_now(&mut jh).unwrap(), "x");
    drop(jh);
    s.assert_clean();
}

#[test]
fn unowned_task_shutdown_before_run_is_cancelled() {
    let s = Sched::new();
    let d = DropCount::new();
    let t = d.track();
    let (n, mut jh) =
        crate::task::raw::unowned(async move { drop(t) }, s.clone(), crate::task::Id::next());
    n.shutdown();
    assert_eq!(d.get(), 1, "future dropped by shutdown");
    assert!(join_now(&mut jh).unwrap_err().is_cancelled());
    drop(jh);
    s.assert_clean();
}

#[test]
fn task_id_is_visible_inside_the_task() {
    let s = Sched::new();
    let mut jh = s.spawn(async { crate::task::id() });
    let id = jh.id();
    s.run_all();
    assert_eq!(join_now(&mut jh).unwrap(), id);
    drop(jh);
    s.assert_clean();
}

/// Regression test for a Stacked/Tree Borrows violation found by Miri:
/// `harness::complete` received the cell as a `&Cell` *argument* (which
/// Miri protects for the whole call) and, when it dropped the last
/// reference, freed that same cell before returning. Here the detached task
/// completes with only the running reference left, so the cell is freed
/// inside `complete`. Natively this passes; under
/// `cargo +nightly miri test` it reports UB until `complete` derives its
/// `&Cell` locally from the pointer (see RELIABILITY.md, finding 1).
#[test]
fn detached_task_freed_inside_complete() {
    let s = Sched::new();
    drop(s.spawn(async { 1 }));
    s.run_all();
    s.assert_clean();
    // Same through cancellation (`ToRunning::Cancel` -> `complete`) and
    // through shutdown (`harness::shutdown` -> `complete`).
    let jh = s.spawn(async { 2 });
    jh.abort();
    drop(jh);
    s.run_all();
    s.assert_clean();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    drop(s.spawn(fut));
    s.run_all();
    drop(ctl.take_waker());
    s.shutdown();
    assert_eq!(d.get(), 1);
    s.assert_clean();
}

/// Finding 3 (use-after-free, see RELIABILITY.md): `Waker::wake` on an idle
/// task hands the waker's reference to the new `Notified` and then calls
/// `scheduler.schedule(notified)` where `scheduler` lives *inside the task
/// cell*. Once the `Notified` is queued, another worker may run the task to
/// completion and free the cell while `schedule` is still using `&self`
/// (the multi-thread scheduler calls `notify_parked` after the push). The
/// mock runs the queue inline right after the push to make that
/// interleaving deterministic; Miri then reports the use-after-free.
/// Natively the stale read goes unnoticed; ThreadSanitizer reports it from
/// `rt_refcount_stress`.
#[test]
fn wake_by_val_keeps_cell_alive_during_schedule() {
    let s = Sched::new();
    let d = DropCount::new();
    let (fut, ctl) = Ctl::new((), &d);
    drop(s.spawn(fut)); // detached: the list and the waker hold the cell
    s.run_all();
    ctl.set_ready();
    let w = ctl.take_waker().unwrap();
    s.0.run_inline
        .store(true, std::sync::atomic::Ordering::SeqCst);
    w.wake(); // completes (and frees) the task inside `schedule`
    assert_eq!(d.get(), 1);
    s.assert_clean();
}

/// Finding 3, the poller's side: a task woken while running is re-queued
/// with `yield_now` by the poller, whose running reference became the
/// `Notified`'s; if a stealer finishes the task during `yield_now`, the
/// scheduler's `&self` (inside the cell) dangles.
#[test]
fn yield_now_keeps_cell_alive_during_schedule() {
    let s = Sched::new();
    let s2 = s.clone();
    let mut polls = 0;
    drop(s.spawn(poll_fn(move |cx| {
        polls += 1;
        if polls == 1 {
            s2.0.run_inline
                .store(true, std::sync::atomic::Ordering::SeqCst);
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })));
    s.run_all();
    s.assert_clean();
}
