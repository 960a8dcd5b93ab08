//! A FIFO list of waiting tasks, the building block under every primitive.
//!
//! Every async primitive in [`crate::sync`] parks tasks the same way: a waiting
//! future appends a *node* (its [`Waker`] plus per-primitive data) to a list
//! guarded by the primitive's mutex, a releasing party pops nodes from the
//! front in FIFO order and wakes them, and a future that is dropped mid-wait
//! removes its node in O(1).
//!
//! ## Design
//!
//! The list is *slab-based* rather than intrusive: nodes live in a
//! [`slab::Slab`] and are chained by index into a doubly linked list, so
//! removal from the middle is O(1), memory is reused without a per-wait
//! allocation once the slab has grown, and the module needs no `unsafe`.
//!
//! Ownership protocol (this is what makes indices safe against reuse):
//! - [`WaitList::push_back`] returns a [`WaiterKey`]. The key is not `Clone`;
//!   the future that holds it is the only party that may *free* the slot,
//!   through [`WaitList::remove`].
//! - Notifiers never free slots: [`WaitList::pop_front`] only *unlinks* a node
//!   from the FIFO chain (it stays in the slab, now "notified"), and hands back
//!   the node's waker. The waiter later observes `!is_linked(key)` and frees
//!   its slot, reading whatever the notifier left in the node's data.
//! - Hence a slot index is never reused while its key is alive, and a key
//!   always refers to its own node.
//! - One exception, [`WaitList::pop_front_free`]: a notifier may unlink *and
//!   free* the front node when its waiter learns of the notification outside
//!   the list (the semaphore's waiter reads a counter in its own future). Such
//!   a waiter must stop using its key, without touching the list, once it has
//!   seen that signal; until then the slot is still its own.
//!
//! The list is not synchronised; every primitive keeps it behind its own lock.
use slab::Slab;
use std::mem::MaybeUninit;
use std::task::Waker;

const NIL: usize = usize::MAX;

/// Identifies one waiter's node. Not `Clone`: whoever holds it owns the slot.
#[derive(Debug)]
#[must_use = "a waiter key must be given back with `WaitList::remove`"]
pub(crate) struct WaiterKey(usize);

#[derive(Debug)]
struct Node<T> {
    prev: usize,
    next: usize,
    linked: bool,
    waker: Option<Waker>,
    data: T,
}

/// A FIFO of waiters carrying data `T`; see the module docs.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    nodes: Slab<Node<T>>,
    head: usize,
    tail: usize,
    linked: usize,
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> WaitList<T> {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        WaitList {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            linked: 0,
        }
    }

    /// Whether no waiter is linked (waiting to be notified).
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// Number of waiters still linked.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    /// Appends a linked waiter at the back of the FIFO.
    pub(crate) fn push_back(&mut self, waker: Option<Waker>, data: T) -> WaiterKey {
        let idx = self.nodes.insert(Node {
            prev: self.tail,
            next: NIL,
            linked: true,
            waker,
            data,
        });
        if self.tail == NIL {
            self.head = idx;
        } else {
            self.nodes[self.tail].next = idx;
        }
        self.tail = idx;
        self.linked += 1;
        WaiterKey(idx)
    }

    fn unlink_idx(&mut self, idx: usize) {
        let (prev, next) = {
            let n = &mut self.nodes[idx];
            debug_assert!(n.linked);
            n.linked = false;
            let pn = (n.prev, n.next);
            n.prev = NIL;
            n.next = NIL;
            pn
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.linked -= 1;
    }

    /// Whether the waiter is still queued (not yet notified by `pop_front` /
    /// `unlink`).
    pub(crate) fn is_linked(&self, key: &WaiterKey) -> bool {
        self.nodes[key.0].linked
    }

    /// Frees the waiter's slot, unlinking it first if still queued, and
    /// returns its data. O(1).
    pub(crate) fn remove(&mut self, key: WaiterKey) -> T {
        self.remove_with_waker(key).1
    }

    /// As [`remove`](Self::remove), also handing back the waiter's waker so
    /// the caller can drop it after unlocking (a waker's drop is foreign
    /// code).
    pub(crate) fn remove_with_waker(&mut self, key: WaiterKey) -> (Option<Waker>, T) {
        if self.nodes[key.0].linked {
            self.unlink_idx(key.0);
        }
        let node = self.nodes.remove(key.0);
        (node.waker, node.data)
    }

    /// Unlinks a queued waiter without freeing its slot (it becomes
    /// "notified") and returns its waker.
    #[allow(dead_code)]
    pub(crate) fn unlink(&mut self, key: &WaiterKey) -> Option<Waker> {
        if self.nodes[key.0].linked {
            self.unlink_idx(key.0);
        }
        self.nodes[key.0].waker.take()
    }

    /// The data of the front (oldest) linked waiter.
    pub(crate) fn front_mut(&mut self) -> Option<&mut T> {
        if self.head == NIL {
            None
        } else {
            Some(&mut self.nodes[self.head].data)
        }
    }

    /// Unlinks the front waiter (it becomes "notified"), lets `f` update its
    /// data, and returns its waker (`Some(None)` if it had none registered).
    pub(crate) fn pop_front_with(&mut self, f: impl FnOnce(&mut T)) -> Option<Option<Waker>> {
        if self.head == NIL {
            return None;
        }
        let idx = self.head;
        self.unlink_idx(idx);
        let node = &mut self.nodes[idx];
        f(&mut node.data);
        Some(node.waker.take())
    }

    /// Unlinks the front waiter and frees its slot, returning its waker and
    /// data. Only for waiters that learn of this outside the list (see the
    /// module docs): their key is dead from here on.
    pub(crate) fn pop_front_free(&mut self) -> Option<(Option<Waker>, T)> {
        if self.head == NIL {
            return None;
        }
        let idx = self.head;
        self.unlink_idx(idx);
        let node = self.nodes.remove(idx);
        Some((node.waker, node.data))
    }

    /// Unlinks the front waiter and returns its waker.
    #[allow(dead_code)]
    pub(crate) fn pop_front(&mut self) -> Option<Option<Waker>> {
        self.pop_front_with(|_| {})
    }

    /// Unlinks every waiter, updating each with `f`, and pushes their wakers
    /// into `wakers` (FIFO order).
    pub(crate) fn drain_with(&mut self, wakers: &mut WakeList, mut f: impl FnMut(&mut T)) {
        while let Some(w) = self.pop_front_with(&mut f) {
            if let Some(w) = w {
                wakers.push(w);
            }
        }
    }

    /// Shared access to a waiter's data.
    #[allow(dead_code)]
    pub(crate) fn get(&self, key: &WaiterKey) -> &T {
        &self.nodes[key.0].data
    }

    /// Exclusive access to a waiter's data.
    #[allow(dead_code)]
    pub(crate) fn get_mut(&mut self, key: &WaiterKey) -> &mut T {
        &mut self.nodes[key.0].data
    }

    /// Stores `waker` in the waiter's node unless an equivalent one is there.
    pub(crate) fn set_waker(&mut self, key: &WaiterKey, waker: &Waker) {
        drop(self.replace_waker(key, waker));
    }

    /// As [`set_waker`](Self::set_waker), handing back the waker it replaced
    /// so the caller can drop it after unlocking.
    pub(crate) fn replace_waker(&mut self, key: &WaiterKey, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.nodes[key.0].waker;
        match slot {
            Some(w) if w.will_wake(waker) => None,
            _ => slot.replace(waker.clone()),
        }
    }
}

/// Wakers collected under a lock, woken after the lock is released.
///
/// Waking while holding a primitive's lock could run a woken task inline (some
/// executors poll on wake) and deadlock on that same lock, so every notifier
/// collects wakers here and calls [`Wakers::wake_all`] after unlocking.
///
/// The first `N` wakers live inline (a release that wakes a few waiters, the
/// common case, allocates nothing), the rest in `spill`. Inline slots
/// `head..len` hold wakers pushed and not yet taken; the others are
/// uninitialized, so making and dropping an empty list touches no slot.
pub(crate) struct Wakers<const N: usize> {
    inline: [MaybeUninit<Waker>; N],
    head: usize,
    len: usize,
    spill: Vec<Waker>,
}

/// The list the sync primitives use.
pub(crate) type WakeList = Wakers<4>;

impl<const N: usize> Wakers<N> {
    pub(crate) const fn new() -> Self {
        Wakers {
            inline: [const { MaybeUninit::uninit() }; N],
            head: 0,
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Whether another waker still fits inline (batching callers wake the
    /// list, unlocked, before it spills).
    pub(crate) fn has_inline_room(&self) -> bool {
        self.len < N
    }

    pub(crate) fn push(&mut self, w: Waker) {
        if self.len < N {
            self.inline[self.len].write(w);
            self.len += 1;
        } else {
            self.spill.push(w);
        }
    }

    pub(crate) fn push_opt(&mut self, w: Option<Waker>) {
        if let Some(w) = w {
            self.push(w);
        }
    }

    /// Wakes and empties the list, in push order. Call with no lock held.
    /// A waker that panics does not keep the others from being woken: the
    /// rest are woken, then the first panic goes on.
    pub(crate) fn wake_all(&mut self) {
        if let Some(panic) = self.wake_rest() {
            std::panic::resume_unwind(panic);
        }
    }

    /// Wakes every waker left, each under `catch_unwind`; returns the first
    /// panic (for a caller that has more to wake before it goes on). `head`
    /// moves past a slot before its waker runs, so none is taken twice.
    pub(crate) fn wake_rest(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let mut first = None;
        while self.head < self.len {
            let i = self.head;
            self.head += 1;
            // SAFETY: slot `i` is below `len` (written by `push`) and at or
            // past the old `head` (not yet taken); `head` has moved past it,
            // so it is read exactly once.
            let w = unsafe { self.inline[i].assume_init_read() };
            wake_catching(w, &mut first);
        }
        self.head = 0;
        self.len = 0;
        for w in std::mem::take(&mut self.spill) {
            wake_catching(w, &mut first);
        }
        first
    }
}

/// Wakes `w`; a panic is kept in `first` (if it is the first) instead of
/// unwinding, so that a batch of wakers is always woken whole. The
/// runtime's own wakers never panic; a foreign one may.
pub(crate) fn wake_catching(w: Waker, first: &mut Option<Box<dyn std::any::Any + Send>>) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake())) {
        first.get_or_insert(panic);
    }
}

/// Resumes `panic` (a waker's, kept by [`wake_catching`]), unless this
/// thread is already unwinding (a second panic there would abort): for
/// wakes done in a `Drop`.
pub(crate) fn resume_unless_unwinding(panic: Option<Box<dyn std::any::Any + Send>>) {
    if let Some(panic) = panic {
        if !std::thread::panicking() {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Wakes every waker of `wakers` (see [`wake_catching`]), then resumes the
/// first panic, if any.
pub(crate) fn wake_each(wakers: impl IntoIterator<Item = Waker>) {
    let mut first = None;
    for w in wakers {
        wake_catching(w, &mut first);
    }
    if let Some(panic) = first {
        std::panic::resume_unwind(panic);
    }
}

impl<const N: usize> Default for Wakers<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for Wakers<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakers")
            .field("len", &(self.len - self.head + self.spill.len()))
            .finish()
    }
}

impl<const N: usize> Drop for Wakers<N> {
    /// Wakes whatever is left (the list was dropped without `wake_all`,
    /// e.g. while unwinding); a waker's panic goes on only if this thread
    /// is not already unwinding.
    fn drop(&mut self) {
        resume_unless_unwinding(self.wake_rest());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_middle_removal() {
        let mut l: WaitList<u32> = WaitList::new();
        let a = l.push_back(None, 1);
        let b = l.push_back(None, 2);
        let c = l.push_back(None, 3);
        assert_eq!(l.len(), 3);
        assert_eq!(l.remove(b), 2);
        assert_eq!(*l.front_mut().unwrap(), 1);
        assert!(l.pop_front().is_some());
        assert!(!l.is_linked(&a));
        assert!(l.is_linked(&c));
        assert_eq!(*l.front_mut().unwrap(), 3);
        // A notified slot survives until its owner removes it.
        assert_eq!(l.remove(a), 1);
        let d = l.push_back(None, 4);
        assert!(l.pop_front_with(|v| *v += 10).is_some());
        assert_eq!(*l.get(&c), 13);
        assert_eq!(*l.front_mut().unwrap(), 4);
        assert_eq!(l.remove(d), 4);
        assert!(l.is_empty());
        assert_eq!(l.remove(c), 13);
        assert!(l.front_mut().is_none());
    }

    #[test]
    fn drain_keeps_order() {
        let mut l: WaitList<u32> = WaitList::new();
        let keys: Vec<_> = (0..5).map(|i| l.push_back(None, i)).collect();
        let mut seen = Vec::new();
        let mut wl = WakeList::new();
        l.drain_with(&mut wl, |v| seen.push(*v));
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert!(l.is_empty());
        for k in keys {
            assert!(!l.is_linked(&k));
            l.remove(k);
        }
    }
}
