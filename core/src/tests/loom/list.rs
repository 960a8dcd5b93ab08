//! The owned-task list: `close_and_shutdown_all` racing `bind` (a spawn
//! from another thread during runtime shutdown) and racing a completion
//! that unlinks the task.
use super::super::mock::{DropCount, Sched};
use super::model;
use loom::thread;
use std::task::Poll;

/// A spawn races the close: the task is either linked before the close
/// (and then cancelled by it) or refused by `bind` (and cancelled there).
/// Either way it never runs, its future is dropped once, its joiner sees a
/// cancellation, and nothing stays linked or leaks.
#[test]
fn close_races_bind() {
    model(3, || {
        let s = Sched::with_shards(1);
        let d = DropCount::new();
        let t = d.track();
        let s2 = s.clone();
        let spawner = thread::spawn(move || s2.spawn(async move { drop(t) }));
        s.0.owned.close_and_shutdown_all(0);
        let mut jh = spawner.join().unwrap();
        // Queued Notifieds of cancelled tasks run as no-ops.
        s.run_all();
        assert_eq!(d.get(), 1);
        match super::super::mock::poll_join(&mut jh, &futures::task::noop_waker()) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("task ran or was left pending after close"),
        }
        drop(jh);
        s.assert_clean();
    });
}

/// A task completes on a worker (unlinking itself) while the list is closed
/// and drained on another thread: the list's reference is dropped once.
#[test]
fn close_races_completion() {
    model(3, || {
        let s = Sched::with_shards(1);
        let jh = s.spawn(async { 1 });
        let other = s.spawn(std::future::pending::<()>());
        let s2 = s.clone();
        let worker = thread::spawn(move || {
            s2.run_all();
        });
        s.0.owned.close_and_shutdown_all(0);
        worker.join().unwrap();
        s.run_all();
        assert!(jh.is_finished() && other.is_finished());
        drop((jh, other));
        s.assert_clean();
    });
}
