//! `OwnedTasks`: every live task of one scheduler, so shutdown can cancel
//! them all.
//!
//! An intrusive doubly-linked list threaded through each task header's
//! `owned` links, split into power-of-two shards by task id so that spawns
//! and completions on different workers rarely contend on one mutex.
//!
//! Invariants:
//! - A task is linked into at most one shard (chosen by its id) and its
//!   links are read or written only under that shard's mutex.
//! - The list holds one task reference per linked task.
//! - Once `closed` is set no task is linked again: `bind` checks it under the
//!   shard lock, and `close_and_shutdown_all` sets it before draining each
//!   shard under the same lock, so no task can slip in after a drain.
use super::id::Id;
use super::join::JoinHandle;
use super::raw::{Header, Notified, RawTask, Schedule, Task};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::Mutex;
use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;

struct Shard {
    head: Option<NonNull<Header>>,
}

// SAFETY: the shard only stores pointers to task headers, which are `Send`
// (see RawTask), and is only accessed under its mutex.
unsafe impl Send for Shard {}

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    closed: AtomicBool,
    count: AtomicUsize,
    _p: PhantomData<S>,
}

impl<S: Schedule> OwnedTasks<S> {
    /// `shards` is rounded up to a power of two.
    pub(crate) fn new(shards: usize) -> OwnedTasks<S> {
        let n = shards.max(1).next_power_of_two();
        OwnedTasks {
            shards: (0..n).map(|_| Mutex::new(Shard { head: None })).collect(),
            mask: n - 1,
            closed: AtomicBool::new(false),
            count: AtomicUsize::new(0),
            _p: PhantomData,
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Shard> {
        &self.shards[(id.as_u64() as usize) & self.mask]
    }

    /// Creates a task for `future` and links it. Returns its `JoinHandle` and,
    /// unless the list is closed (then the task is already cancelled), the
    /// `Notified` to schedule.
    pub(crate) fn bind<T>(
        &self,
        future: T,
        scheduler: S,
        id: Id,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + Send + 'static,
        T::Output: Send + 'static,
    {
        let raw = RawTask::new(future, scheduler, id);
        // SAFETY: RawTask::new created three references: one each for the
        // list (`task`), the first Notified, and the JoinHandle.
        let (task, notified, join) = unsafe {
            (
                Task::<S>::from_raw(raw.header_ptr()),
                Notified::<S>::from_raw(raw.header_ptr()),
                JoinHandle::new(raw),
            )
        };
        let mut shard = self.shard(id).lock();
        if self.closed.load(Ordering::Acquire) {
            drop(shard);
            drop(notified);
            task.shutdown();
            return (join, None);
        }
        let ptr = task.header_ptr();
        std::mem::forget(task);
        // SAFETY: the task is new, so no one else can reach its links; the
        // old head's links are guarded by the shard lock we hold.
        unsafe {
            let h = ptr.as_ref();
            h.owned.with_mut(|l| {
                (*l).prev = None;
                (*l).next = shard.head;
                (*l).linked = true;
            });
            if let Some(old) = shard.head {
                old.as_ref().owned.with_mut(|l| (*l).prev = Some(ptr));
            }
        }
        shard.head = Some(ptr);
        self.count.fetch_add(1, Ordering::Relaxed);
        (join, Some(notified))
    }

    /// Unlinks `task`; returns the list's reference if it was linked.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let ptr = task.header_ptr();
        let mut shard = self.shard(task.id()).lock();
        // SAFETY: links of tasks in this shard are guarded by its lock; the
        // caller's `task` keeps the header alive.
        let linked = unsafe { Self::unlink(&mut shard, ptr) };
        drop(shard);
        if linked {
            self.count.fetch_sub(1, Ordering::Relaxed);
            // SAFETY: the list's reference is handed back to the caller.
            Some(unsafe { Task::from_raw(ptr) })
        } else {
            None
        }
    }

    /// # Safety
    /// The shard lock must be held and `ptr` must be live.
    unsafe fn unlink(shard: &mut Shard, ptr: NonNull<Header>) -> bool {
        // SAFETY: guarded by the shard lock held by the caller.
        unsafe {
            let h = ptr.as_ref();
            h.owned.with_mut(|l| {
                if !(*l).linked {
                    return false;
                }
                let (prev, next) = ((*l).prev.take(), (*l).next.take());
                (*l).linked = false;
                match prev {
                    Some(p) => p.as_ref().owned.with_mut(|pl| (*pl).next = next),
                    None => shard.head = next,
                }
                if let Some(n) = next {
                    n.as_ref().owned.with_mut(|nl| (*nl).prev = prev);
                }
                true
            })
        }
    }

    /// Closes the list and cancels every task in it (dropping their futures
    /// on the calling thread). `start` spreads concurrent callers over the
    /// shards.
    pub(crate) fn close_and_shutdown_all(&self, start: usize) {
        self.closed.store(true, Ordering::Release);
        for i in 0..self.shards.len() {
            let shard = &self.shards[(start + i) & self.mask];
            loop {
                let mut guard = shard.lock();
                let Some(head) = guard.head else { break };
                // SAFETY: `head` is linked in this shard, whose lock we hold.
                unsafe { Self::unlink(&mut guard, head) };
                drop(guard);
                self.count.fetch_sub(1, Ordering::Relaxed);
                // SAFETY: the list's reference is handed to the shutdown.
                unsafe { Task::<S>::from_raw(head) }.shutdown();
            }
        }
    }

    /// Number of tasks alive (spawned, not yet completed).
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

impl<S: 'static> std::fmt::Debug for OwnedTasks<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedTasks")
            .field("len", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}
