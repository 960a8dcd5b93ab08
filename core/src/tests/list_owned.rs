//! The intrusive sharded `OwnedTasks` list: linking, unlinking from the
//! head, the middle and the tail of a shard, and draining on close.
use super::mock::{join_now, Ctl, DropCount, Sched};

#[test]
fn unlink_in_every_position() {
    // One shard, so all tasks share one list.
    let s = Sched::with_shards(1);
    let d = DropCount::new();
    let mut ctls = Vec::new();
    let mut jhs = Vec::new();
    for i in 0..9usize {
        let (f, c) = Ctl::new(i, &d);
        jhs.push(s.spawn(f));
        ctls.push(c);
    }
    s.run_all();
    assert_eq!(s.0.owned.len(), 9);
    // Complete: middle, head (newest), tail (oldest), then the rest.
    for i in [4usize, 8, 0, 1, 7, 5, 3, 6, 2] {
        ctls[i].set_ready();
        ctls[i].take_waker().unwrap().wake();
        s.run_all();
        assert_eq!(join_now(&mut jhs[i]).unwrap(), i);
    }
    assert_eq!(s.0.owned.len(), 0);
    assert_eq!(d.get(), 9);
    drop(jhs);
    s.assert_clean();
}

#[test]
fn many_shards_complete_and_shutdown_mix() {
    let s = Sched::with_shards(8);
    let d = DropCount::new();
    let mut ctls = Vec::new();
    let mut jhs = Vec::new();
    for i in 0..40usize {
        let (f, c) = Ctl::new(i, &d);
        jhs.push(s.spawn(f));
        ctls.push(c);
    }
    s.run_all();
    for (i, c) in ctls.iter().enumerate() {
        if i % 3 == 0 {
            c.set_ready();
            c.waker().wake();
        }
    }
    s.run_all();
    assert_eq!(s.0.owned.len(), 40 - 14);
    s.shutdown();
    assert_eq!(d.get(), 40);
    for (i, jh) in jhs.iter_mut().enumerate() {
        let r = join_now(jh);
        if i % 3 == 0 {
            assert_eq!(r.unwrap(), i);
        } else {
            assert!(r.unwrap_err().is_cancelled());
        }
    }
    drop(jhs);
    for c in &ctls {
        drop(c.take_waker());
    }
    s.assert_clean();
}
