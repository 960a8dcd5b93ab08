//! The shutdown drain of the timer wheel wakes in batches with the wheel's
//! lock released; an owner that resets or drops its `Sleep` meanwhile must
//! not corrupt the wheel (entries left linked after being freed, timers
//! never woken). A review found it; this is its reproducer.
use runtime_core::runtime::Builder;
use runtime_core::time::{Duration, Instant, Sleep};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

const N: usize = 40;

struct State {
    woken: Mutex<HashSet<usize>>,
    sleeps: Mutex<Vec<Option<Pin<Box<Sleep>>>>>,
    acted: AtomicBool,
    target: usize,
}

struct W {
    idx: usize,
    st: Arc<State>,
}

impl Wake for W {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.st.woken.lock().unwrap().insert(self.idx);
        if !self.st.acted.swap(true, Ordering::SeqCst) {
            // Runs inside `Driver::shutdown`'s first batch flush, i.e. while
            // the shard lock is released and the rest of the drained slot
            // sits in the wheel's pending list.
            let mut s = self.st.sleeps.lock().unwrap()[self.st.target]
                .take()
                .unwrap();
            // Reset to an earlier deadline: takes the shard lock and unlinks.
            let earlier = s.deadline() - Duration::from_secs(1);
            s.as_mut().reset(earlier);
            self.st.sleeps.lock().unwrap()[self.st.target] = Some(s);
        }
    }
}

#[test]
fn an_owner_resetting_its_sleep_during_the_shutdown_drain_loses_no_timer() {
    let rt = Builder::new_current_thread().build().unwrap();
    let st = Arc::new(State {
        woken: Mutex::new(HashSet::new()),
        sleeps: Mutex::new(Vec::new()),
        acted: AtomicBool::new(false),
        target: 32,
    });
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut v = st.sleeps.lock().unwrap();
        for i in 0..N {
            let mut s = Box::pin(runtime_core::time::sleep_until(deadline));
            let waker = Waker::from(Arc::new(W {
                idx: i,
                st: st.clone(),
            }));
            assert!(s
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            v.push(Some(s));
        }
    });
    drop(rt); // drains the wheel: fires every timer with the shutdown error
    let woken = st.woken.lock().unwrap().len();
    let elapsed = st
        .sleeps
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.as_ref().unwrap().is_elapsed())
        .count();
    assert_eq!(woken, N, "some sleeps were never woken by shutdown");
    assert_eq!(elapsed, N, "some sleeps never ended");
    drop(std::mem::take(&mut *st.sleeps.lock().unwrap()));
}
