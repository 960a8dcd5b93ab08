//! The lock-free multi-producer single-consumer queue under `mpsc`.
//!
//! A linked list of fixed-size blocks of slots (the layout crossbeam's and
//! Tokio's list channels use). Producers claim a slot with one CAS on the
//! tail index and write into it; the single consumer reads slots in order
//! and frees each block once it has read its last slot. No lock is taken on
//! either side, and one block allocation serves `BLOCK_CAP` messages.
//!
//! ## Design
//!
//! Indices count positions; position `i` lives in slot `i % LAP` of its
//! block. Offset `BLOCK_CAP` (= `LAP - 1`) is a sentinel that no message
//! uses: the producer that claims a block's last slot moves the tail onto
//! the sentinel, installs the next block (`tail_block`, then bumps the tail
//! past the sentinel, then links `block.next`) and only then writes its
//! message. Producers that observe the sentinel wait for the installation.
//!
//! Slot state: `WRITE` is set (release) once the message is written; the
//! consumer reads a slot only after seeing `WRITE` (acquire).
//!
//! Who touches what:
//! - `tail_index`/`tail_block`: producers (CAS / store), read by the consumer.
//! - a slot's `msg`: its one claiming producer until `WRITE`, then the
//!   consumer only.
//! - `head`: the consumer only (enforced by `pop` being `unsafe` with that
//!   contract; `Chan` calls it only from the unique `Receiver`).
//! - Block reclamation: once the consumer has read a block's last slot,
//!   every slot of it was claimed, written and read, and its last producer
//!   linked `next` before writing; no producer dereferences a block whose
//!   slots it has not claimed, so the block can be freed.
//! - `Drop` runs when no producer or consumer exists and drains the rest.
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};
use std::mem::MaybeUninit;
use std::ptr;

// Small blocks under loom so models cross block boundaries.
const LAP: usize = if cfg!(loom) { 4 } else { 32 };
const BLOCK_CAP: usize = LAP - 1;
const WRITE: usize = 1;

struct Slot<T> {
    msg: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                msg: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        })
    }
}

/// Pads and aligns a value to a cache line pair to avoid false sharing.
#[derive(Debug, Default)]
#[repr(align(128))]
struct CachePadded<T>(T);

struct Head<T> {
    index: usize,
    block: *mut Block<T>,
}

/// The outcome of [`List::pop`].
#[derive(Debug)]
pub(crate) enum Pop<T> {
    Value(T),
    /// Nothing was pushed past the head.
    Empty,
    /// A producer claimed the next slot and is writing it right now; it will
    /// wake the consumer when done.
    Busy,
}

pub(crate) struct List<T> {
    tail_index: CachePadded<AtomicUsize>,
    tail_block: AtomicPtr<Block<T>>,
    head: CachePadded<UnsafeCell<Head<T>>>,
}

// SAFETY: values of `T` move from producers to the consumer (`T: Send`);
// all shared state is atomics or consumer-only (module docs).
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as above; `&List` allows `push` from many threads and `pop` only
// under its single-consumer contract.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    pub(crate) fn new() -> Self {
        let first = Box::into_raw(Block::<T>::new());
        List {
            tail_index: CachePadded(AtomicUsize::new(0)),
            tail_block: AtomicPtr::new(first),
            head: CachePadded(UnsafeCell::new(Head {
                index: 0,
                block: first,
            })),
        }
    }

    /// Appends `value`. Lock-free; may be called from any thread.
    pub(crate) fn push(&self, value: T) {
        let mut spins = 0u32;
        let mut tail = self.tail_index.0.load(Acquire);
        let mut block = self.tail_block.load(Acquire);
        let mut next_block: Option<Box<Block<T>>> = None;
        loop {
            let offset = tail % LAP;
            if offset == BLOCK_CAP {
                // Another producer is installing the next block.
                backoff(&mut spins);
                tail = self.tail_index.0.load(Acquire);
                block = self.tail_block.load(Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            match self
                .tail_index
                .0
                .compare_exchange_weak(tail, tail + 1, SeqCst, Acquire)
            {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let nb = Box::into_raw(next_block.take().expect("preallocated"));
                        self.tail_block.store(nb, Release);
                        self.tail_index.0.fetch_add(1, Release);
                        // SAFETY: we claimed a slot of `block`, so the consumer
                        // cannot have freed it (it frees a block only after
                        // reading its last slot, which is ours and unwritten).
                        unsafe { (*block).next.store(nb, Release) };
                    }
                    // SAFETY: as above `block` is live; slot `offset` is ours
                    // alone until we set WRITE (we won the CAS for it).
                    unsafe {
                        let slot = &(*block).slots[offset];
                        slot.msg.with_mut(|p| p.write(MaybeUninit::new(value)));
                        slot.state.fetch_or(WRITE, Release);
                    }
                    return;
                }
                Err(actual) => {
                    tail = actual;
                    block = self.tail_block.load(Acquire);
                    backoff(&mut spins);
                }
            }
        }
    }

    /// Takes the oldest value.
    ///
    /// # Safety
    /// Only one thread may call `pop` at a time, ever (the single consumer),
    /// and not concurrently with `Drop`.
    pub(crate) unsafe fn pop(&self) -> Pop<T> {
        self.head.0.with_mut(|head| {
            // SAFETY: the caller is the single consumer, the only party that
            // touches `head`.
            let head = unsafe { &mut *head };
            let offset = head.index % LAP;
            debug_assert!(offset < BLOCK_CAP);
            let block = head.block;
            // SAFETY: `head.block` is live: only the consumer frees blocks,
            // and it moves `head.block` on before freeing.
            let slot = unsafe { &(*block).slots[offset] };
            if slot.state.load(Acquire) & WRITE == 0 {
                return if self.tail_index.0.load(SeqCst) == head.index {
                    Pop::Empty
                } else {
                    Pop::Busy
                };
            }
            // SAFETY: WRITE (acquired) says the message is initialised and its
            // producer is done with it; the consumer reads each slot once.
            let value = slot.msg.with(|p| unsafe { ptr::read(p).assume_init() });
            if offset + 1 == BLOCK_CAP {
                // SAFETY: the producer of this last slot linked `next` before
                // setting WRITE, which we acquired; the block is fully read.
                unsafe {
                    let next = (*block).next.load(Acquire);
                    debug_assert!(!next.is_null());
                    drop(Box::from_raw(block));
                    head.block = next;
                }
                head.index += 2;
            } else {
                head.index += 1;
            }
            Pop::Value(value)
        })
    }
}

impl<T> List<T> {
    /// Messages pushed (or being pushed) and not yet popped.
    ///
    /// # Safety
    /// Must not run concurrently with `pop` (call it from the consumer's
    /// side, which serialises the two).
    pub(crate) unsafe fn len(&self) -> usize {
        let tail = self.tail_index.0.load(Acquire);
        // SAFETY: by the contract no `pop` is writing `head` concurrently.
        let head = self.head.0.with(|h| unsafe { (*h).index });
        // Every `LAP` positions include one unused sentinel.
        (tail - head) - (tail / LAP - head / LAP)
    }
}

fn backoff(spins: &mut u32) {
    if *spins < 6 {
        for _ in 0..(1 << *spins) {
            crate::loom::hint::spin_loop();
        }
        *spins += 1;
    } else {
        crate::loom::thread::yield_now();
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        let tail = self.tail_index.0.load(Acquire);
        self.head.0.with_mut(|head| {
            // SAFETY: `&mut self`: no producer or consumer is left, so every
            // claimed slot below `tail` was written, and we own everything.
            unsafe {
                let head = &mut *head;
                let mut index = head.index;
                let mut block = head.block;
                while index != tail {
                    let offset = index % LAP;
                    if offset == BLOCK_CAP {
                        let next = (*block).next.load(Acquire);
                        drop(Box::from_raw(block));
                        block = next;
                    } else {
                        (*block).slots[offset]
                            .msg
                            .with_mut(|p| ptr::drop_in_place((*p).as_mut_ptr()));
                    }
                    index += 1;
                }
                if !block.is_null() {
                    drop(Box::from_raw(block));
                }
            }
        });
    }
}

impl<T> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("List")
            .field("tail_index", &self.tail_index.0.load(Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pop_value<T>(l: &List<T>) -> Option<T> {
        // SAFETY: single-threaded test: this is the only consumer.
        match unsafe { l.pop() } {
            Pop::Value(v) => Some(v),
            Pop::Empty => None,
            Pop::Busy => panic!("busy in a single-threaded test"),
        }
    }

    #[test]
    fn crosses_blocks_in_order() {
        let l = List::new();
        for i in 0..100 {
            l.push(i);
        }
        // SAFETY: single-threaded test.
        assert_eq!(unsafe { l.len() }, 100);
        for i in 0..100 {
            assert_eq!(pop_value(&l), Some(i));
            // SAFETY: single-threaded test.
            assert_eq!(unsafe { l.len() }, 99 - i);
        }
        assert_eq!(pop_value(&l), None);
        l.push(7);
        assert_eq!(pop_value(&l), Some(7));
    }

    #[test]
    fn drop_frees_remaining_values() {
        let marker = Arc::new(());
        let l = List::new();
        for _ in 0..70 {
            l.push(marker.clone());
        }
        for _ in 0..33 {
            assert!(pop_value(&l).is_some());
        }
        drop(l);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn concurrent_producers() {
        const P: usize = 4;
        const N: usize = if cfg!(miri) { 50 } else { 5_000 };
        let l = Arc::new(List::new());
        let hs: Vec<_> = (0..P)
            .map(|p| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        l.push((p, i));
                    }
                })
            })
            .collect();
        let mut next = [0usize; P];
        let mut got = 0;
        while got < P * N {
            // SAFETY: this thread is the only consumer.
            match unsafe { l.pop() } {
                Pop::Value((p, i)) => {
                    assert_eq!(next[p], i, "per-producer FIFO");
                    next[p] += 1;
                    got += 1;
                }
                Pop::Empty | Pop::Busy => std::thread::yield_now(),
            }
        }
        for h in hs {
            h.join().unwrap();
        }
        assert!(matches!(unsafe_pop(&l), Pop::Empty));
    }

    fn unsafe_pop<T>(l: &List<T>) -> Pop<T> {
        // SAFETY: called from the test's only consumer thread.
        unsafe { l.pop() }
    }
}
