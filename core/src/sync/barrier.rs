//! `Barrier`: `n` tasks wait until all `n` have arrived.
//!
//! Invariants: the barrier is reusable; each *generation* releases exactly
//! `n` waiters, of which exactly one (the last to arrive) is the leader.
//!
//! ## Design
//!
//! One lock guards `{ arrived, generation, waiters }`. An arrival that does
//! not complete the generation queues in `waiters` remembering the
//! generation it joined; the completing arrival bumps `generation`, resets
//! `arrived` and unlinks+wakes every queued waiter. A waiter is released once
//! the generation differs from the one it joined.
use crate::loom::sync::Mutex;
use crate::sync::wait_list::{WaitList, WaiterKey, WakeList};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A reusable barrier for `n` tasks.
///
/// ```
/// use runtime_core::sync::Barrier;
/// use std::sync::Arc;
/// let barrier = Arc::new(Barrier::new(3));
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         std::thread::spawn(move || futures::executor::block_on(b.wait()).is_leader())
///     })
///     .collect();
/// let leaders = threads
///     .into_iter()
///     .map(|t| t.join().unwrap())
///     .filter(|leader| *leader)
///     .count();
/// assert_eq!(leaders, 1);
/// ```
#[derive(Debug)]
pub struct Barrier {
    n: usize,
    state: Mutex<BarrierState>,
}

#[derive(Debug)]
struct BarrierState {
    arrived: usize,
    generation: u64,
    waiters: WaitList<()>,
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the one that completed the generation (exactly
    /// one per generation).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier releasing tasks in groups of `n` (`0` is treated as `1`).
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: Mutex::new(BarrierState {
                arrived: 0,
                generation: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Arrives at the barrier and waits until `n` tasks have arrived.
    ///
    /// # Cancel safety
    /// Not cancel safe: arriving counts at the first poll. If the future is
    /// dropped after that and before the generation completes, its arrival
    /// still counts towards the generation (as with Tokio's `Barrier`).
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            state: WaitState::Init,
        }
    }
}

/// Future returned by [`Barrier::wait`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    state: WaitState,
}

#[derive(Debug)]
enum WaitState {
    Init,
    Waiting(WaiterKey, u64),
    Done,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    /// Foreign code (the waker's `clone` and `drop`) runs only while
    /// `state` tells the truth, so a panic in it leaves this future either
    /// not arrived (`Init`) or registered under its key (`Waiting`).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        let barrier = this.barrier;
        match &this.state {
            WaitState::Done => panic!("`BarrierWait` polled after completion"),
            WaitState::Init => {
                // Cloned before arriving: a clone that panics has not
                // counted.
                let waker = cx.waker().clone();
                let mut wakers = WakeList::new();
                let mut st = barrier.state.lock();
                st.arrived += 1;
                if st.arrived == barrier.n {
                    st.arrived = 0;
                    st.generation = st.generation.wrapping_add(1);
                    st.waiters.drain_with(&mut wakers, |_| {});
                    drop(st);
                    this.state = WaitState::Done;
                    wakers.wake_all();
                    drop(waker);
                    return Poll::Ready(BarrierWaitResult(true));
                }
                let gen = st.generation;
                let key = st.waiters.push_back(Some(waker), ());
                this.state = WaitState::Waiting(key, gen);
                Poll::Pending
            }
            WaitState::Waiting(key, gen) => {
                let mut st = barrier.state.lock();
                if st.generation == *gen && st.waiters.is_linked(key) {
                    // The replaced waker is dropped after unlocking.
                    let old = st.waiters.replace_waker(key, cx.waker());
                    drop(st);
                    drop(old);
                    return Poll::Pending;
                }
                let WaitState::Waiting(key, _) =
                    std::mem::replace(&mut this.state, WaitState::Done)
                else {
                    unreachable!("matched Waiting above")
                };
                let (old, ()) = st.waiters.remove_with_waker(key);
                drop(st);
                drop(old);
                Poll::Ready(BarrierWaitResult(false))
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let WaitState::Waiting(key, _) = std::mem::replace(&mut self.state, WaitState::Done) {
            // The arrival keeps counting; only the node is freed (its
            // waker dropped after unlocking).
            let (own, ()) = self.barrier.state.lock().waiters.remove_with_waker(key);
            drop(own);
        }
    }
}
