//! Task cells shared between real threads (small enough for Miri, which
//! checks them for data races): wakes from other threads racing the poll,
//! abort racing completion, and the `JoinHandle` read on another thread.
use super::mock::{join_now, poll_join, Ctl, DropCount, Sched};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };

#[test]
fn wakes_from_other_threads_race_the_poll() {
    for _ in 0..ROUNDS {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = Ctl::new((), &d);
        let mut jh = s.spawn(fut);
        s.run_all();
        let wakers: Vec<_> = (0..3).map(|_| ctl.waker()).collect();
        let threads: Vec<_> = wakers
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                thread::spawn(move || {
                    if i % 2 == 0 {
                        w.wake_by_ref();
                        drop(w);
                    } else {
                        w.wake();
                    }
                })
            })
            .collect();
        // Poll concurrently with the wakes (Ctl asserts no double poll).
        while s.run_all() > 0 {}
        for t in threads {
            t.join().unwrap();
        }
        s.run_all();
        ctl.set_ready();
        ctl.take_waker().unwrap().wake();
        s.run_all();
        join_now(&mut jh).unwrap();
        drop(jh);
        s.assert_clean();
    }
}

#[test]
fn abort_races_completion_and_join_handle_drop() {
    for i in 0..ROUNDS {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = Ctl::new(i, &d);
        let jh = s.spawn(fut);
        s.run_all();
        let ah = jh.abort_handle();
        let w = ctl.take_waker().unwrap();
        ctl.set_ready();
        let aborter = thread::spawn(move || {
            ah.abort();
        });
        let dropper = thread::spawn(move || {
            if i % 2 == 0 {
                drop(jh);
                None
            } else {
                Some(jh)
            }
        });
        w.wake();
        s.run_all();
        aborter.join().unwrap();
        let jh = dropper.join().unwrap();
        s.run_all();
        assert_eq!(d.get(), 1, "future dropped exactly once");
        if let Some(mut jh) = jh {
            match join_now(&mut jh) {
                Ok(v) => assert_eq!(v, i),
                Err(e) => assert!(e.is_cancelled()),
            }
        }
        s.assert_clean();
    }
}

#[test]
fn join_handle_polled_on_another_thread() {
    for _ in 0..ROUNDS {
        let s = Sched::new();
        let d = DropCount::new();
        let (fut, ctl) = Ctl::new(9u8, &d);
        let mut jh = s.spawn(fut);
        s.run_all();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let joiner = thread::spawn(move || {
            let (count, w) = super::mock::count_waker();
            loop {
                if let std::task::Poll::Ready(r) = poll_join(&mut jh, &w) {
                    assert_eq!(r.unwrap(), 9);
                    break;
                }
                while count.count() == 0 && !done2.load(SeqCst) {
                    thread::yield_now();
                }
            }
        });
        ctl.set_ready();
        ctl.take_waker().unwrap().wake();
        s.run_all();
        done.store(true, SeqCst);
        joiner.join().unwrap();
        s.assert_clean();
    }
}
