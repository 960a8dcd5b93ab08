//! An intrusive, doubly linked list of pinned nodes.
//!
//! The timer wheel files every pending timer in one of these lists (one per
//! wheel slot, plus the "pending fire" list). The links live *inside* the
//! node (see [`Pointers`]), so filing, unfiling and moving a timer between
//! lists never allocates.
//!
//! # Invariants
//! - A node is in at most one list at a time; its [`Pointers`] are `None`/`None`
//!   when it is in no list (and may be stale only while the list owning it is
//!   being dropped, which never happens with nodes in it in this crate).
//! - A node stays at the same address while it is in a list (it is pinned) and
//!   is removed before it is dropped.
//! - All accesses to a list and to the `Pointers` of its nodes happen under
//!   one lock (for the timer wheel: the wheel mutex); the list itself does no
//!   synchronisation.
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomPinned;
use std::ptr::NonNull;

/// How a list reaches the [`Pointers`] embedded in its node type.
///
/// # Safety
/// `pointers` must return a pointer to a `Pointers<Self::Target>` that lives
/// inside (and as long as) the node it was given, and must not create a
/// reference to the node (only raw place projections).
pub(crate) unsafe trait Link {
    /// The node type.
    type Target;

    /// The links embedded in `target`.
    ///
    /// # Safety
    /// `target` must point to a live node.
    unsafe fn pointers(target: NonNull<Self::Target>) -> NonNull<Pointers<Self::Target>>;
}

/// The `prev`/`next` links embedded in a node.
pub(crate) struct Pointers<T> {
    inner: UnsafeCell<PointersInner<T>>,
}

struct PointersInner<T> {
    prev: Option<NonNull<T>>,
    next: Option<NonNull<T>>,
    /// The node's address is part of other nodes' state: it must not move.
    _pin: PhantomPinned,
}

impl<T> Pointers<T> {
    /// Links for a node that is in no list.
    pub(crate) const fn new() -> Pointers<T> {
        Pointers {
            inner: UnsafeCell::new(PointersInner {
                prev: None,
                next: None,
                _pin: PhantomPinned,
            }),
        }
    }

    // All four accessors: the caller holds the lock that guards the list (see
    // the module invariants), so no other access to these cells is live.
    fn prev(&self) -> Option<NonNull<T>> {
        // SAFETY: read under the list's lock; no concurrent writer.
        unsafe { (*self.inner.get()).prev }
    }
    fn next(&self) -> Option<NonNull<T>> {
        // SAFETY: read under the list's lock; no concurrent writer.
        unsafe { (*self.inner.get()).next }
    }
    fn set_prev(&self, v: Option<NonNull<T>>) {
        // SAFETY: written under the list's lock; no other access is live.
        unsafe { (*self.inner.get()).prev = v }
    }
    fn set_next(&self, v: Option<NonNull<T>>) {
        // SAFETY: written under the list's lock; no other access is live.
        unsafe { (*self.inner.get()).next = v }
    }
}

impl<T> fmt::Debug for Pointers<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pointers")
            .field("prev", &self.prev())
            .field("next", &self.next())
            .finish()
    }
}

// SAFETY: the raw pointers are only dereferenced under the lock guarding the
// list (module invariant), so sharing or sending the links is no more than
// sharing the node, which `T: Sync` permits.
unsafe impl<T: Sync> Send for Pointers<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Pointers<T> {}

/// An intrusive list; `push_front` + `pop_back` make it a FIFO queue.
pub(crate) struct LinkedList<L: Link> {
    head: Option<NonNull<L::Target>>,
    tail: Option<NonNull<L::Target>>,
}

// SAFETY: the list only holds pointers to `Sync` nodes and touches them under
// the lock that guards it (module invariant).
unsafe impl<L: Link> Send for LinkedList<L> where L::Target: Sync {}
// SAFETY: as above; `&LinkedList` allows no mutation.
unsafe impl<L: Link> Sync for LinkedList<L> where L::Target: Sync {}

impl<L: Link> Default for LinkedList<L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Link> fmt::Debug for LinkedList<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedList")
            .field("head", &self.head)
            .field("tail", &self.tail)
            .finish()
    }
}

impl<L: Link> LinkedList<L> {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        LinkedList {
            head: None,
            tail: None,
        }
    }

    /// Whether the list has no node.
    pub(crate) fn is_empty(&self) -> bool {
        debug_assert_eq!(self.head.is_none(), self.tail.is_none());
        self.head.is_none()
    }

    /// Links `node` at the front.
    ///
    /// # Safety
    /// `node` points to a live, pinned node that is in no list, and stays
    /// live until it is removed from this list.
    pub(crate) unsafe fn push_front(&mut self, node: NonNull<L::Target>) {
        // SAFETY: `node` is live (caller); `pointers` stays inside it.
        let ptrs = unsafe { L::pointers(node).as_ref() };
        debug_assert!(ptrs.prev().is_none() && ptrs.next().is_none());
        debug_assert!(self.head != Some(node));
        ptrs.set_next(self.head);
        ptrs.set_prev(None);
        if let Some(head) = self.head {
            // SAFETY: nodes in the list are live (list invariant).
            unsafe { L::pointers(head).as_ref() }.set_prev(Some(node));
        }
        self.head = Some(node);
        if self.tail.is_none() {
            self.tail = Some(node);
        }
    }

    /// Unlinks and returns the last node.
    pub(crate) fn pop_back(&mut self) -> Option<NonNull<L::Target>> {
        let tail = self.tail?;
        // SAFETY: nodes in the list are live (list invariant).
        let ptrs = unsafe { L::pointers(tail).as_ref() };
        self.tail = ptrs.prev();
        match self.tail {
            // SAFETY: nodes in the list are live (list invariant).
            Some(prev) => unsafe { L::pointers(prev).as_ref() }.set_next(None),
            None => self.head = None,
        }
        ptrs.set_prev(None);
        ptrs.set_next(None);
        Some(tail)
    }

    /// Unlinks `node` from this list. Returns `None` (and changes nothing)
    /// when `node` is detectably not in this list.
    ///
    /// # Safety
    /// `node` points to a live node that is either in this list or in no list.
    pub(crate) unsafe fn remove(&mut self, node: NonNull<L::Target>) -> Option<NonNull<L::Target>> {
        // SAFETY: `node` is live (caller).
        let ptrs = unsafe { L::pointers(node).as_ref() };
        match ptrs.prev() {
            // SAFETY: `node` is in this list, so its neighbours are live.
            Some(prev) => unsafe { L::pointers(prev).as_ref() }.set_next(ptrs.next()),
            None => {
                if self.head != Some(node) {
                    return None;
                }
                self.head = ptrs.next();
            }
        }
        match ptrs.next() {
            // SAFETY: `node` is in this list, so its neighbours are live.
            Some(next) => unsafe { L::pointers(next).as_ref() }.set_prev(ptrs.prev()),
            None => {
                debug_assert_eq!(self.tail, Some(node));
                self.tail = ptrs.prev();
            }
        }
        ptrs.set_prev(None);
        ptrs.set_next(None);
        Some(node)
    }

    /// Moves every node into a new list, leaving this one empty.
    pub(crate) fn take(&mut self) -> LinkedList<L> {
        std::mem::take(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;

    #[derive(Debug)]
    struct Node {
        pointers: Pointers<Node>,
        value: u32,
    }

    struct NodeLink;

    // SAFETY: `pointers` projects to the field without creating a reference.
    unsafe impl Link for NodeLink {
        type Target = Node;
        unsafe fn pointers(target: NonNull<Node>) -> NonNull<Pointers<Node>> {
            // SAFETY: `target` is live (caller); `addr_of_mut!` makes no reference.
            unsafe { NonNull::new_unchecked(std::ptr::addr_of_mut!((*target.as_ptr()).pointers)) }
        }
    }

    fn node(value: u32) -> Pin<Box<Node>> {
        Box::pin(Node {
            pointers: Pointers::new(),
            value,
        })
    }

    fn ptr(n: &Pin<Box<Node>>) -> NonNull<Node> {
        NonNull::from(&**n)
    }

    fn drain(list: &mut LinkedList<NodeLink>) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(n) = list.pop_back() {
            // SAFETY: the test's nodes outlive the list operations.
            out.push(unsafe { n.as_ref() }.value);
        }
        out
    }

    #[test]
    fn fifo_order() {
        let nodes: Vec<_> = (0..5).map(node).collect();
        let mut list = LinkedList::<NodeLink>::new();
        assert!(list.is_empty());
        for n in &nodes {
            // SAFETY: each node is pinned, live, and in no list.
            unsafe { list.push_front(ptr(n)) };
        }
        assert!(!list.is_empty());
        assert_eq!(drain(&mut list), vec![0, 1, 2, 3, 4]);
        assert!(list.is_empty());
    }

    #[test]
    fn remove_head_middle_tail_and_absent() {
        let nodes: Vec<_> = (0..5).map(node).collect();
        let mut list = LinkedList::<NodeLink>::new();
        for n in &nodes {
            // SAFETY: each node is pinned, live, and in no list.
            unsafe { list.push_front(ptr(n)) };
        }
        // SAFETY: the nodes are live and each is in `list` or in none.
        unsafe {
            assert!(list.remove(ptr(&nodes[2])).is_some()); // middle
            assert!(list.remove(ptr(&nodes[2])).is_none()); // already out
            assert!(list.remove(ptr(&nodes[4])).is_some()); // head
            assert!(list.remove(ptr(&nodes[0])).is_some()); // tail
        }
        assert_eq!(drain(&mut list), vec![1, 3]);
        // A node can be re-linked after removal.
        // SAFETY: nodes[2] is live and in no list.
        unsafe { list.push_front(ptr(&nodes[2])) };
        // SAFETY: nodes[2] is in `list`.
        assert!(unsafe { list.remove(ptr(&nodes[2])) }.is_some());
        assert!(list.is_empty());
    }

    #[test]
    fn remove_only_node_and_take() {
        let a = node(1);
        let b = node(2);
        let mut list = LinkedList::<NodeLink>::new();
        // SAFETY: `a` is live and in no list, then in `list`.
        unsafe {
            list.push_front(ptr(&a));
            assert!(list.remove(ptr(&a)).is_some());
        }
        assert!(list.is_empty());
        // SAFETY: both live and in no list.
        unsafe {
            list.push_front(ptr(&a));
            list.push_front(ptr(&b));
        }
        let mut taken = list.take();
        assert!(list.is_empty());
        assert_eq!(drain(&mut taken), vec![1, 2]);
    }
}
