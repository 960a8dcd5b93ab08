//! One registration's shared state: cached readiness and the tasks waiting
//! for it.
//!
//! # Design
//!
//! The state word (`readiness`, an `AtomicU64`) packs:
//!
//! | bits   | meaning                                                      |
//! |--------|--------------------------------------------------------------|
//! | 0..6   | [`Ready`] bits cached from the reactor                       |
//! | 7      | `SHUTDOWN`: the driver shut down; every wait now fails       |
//! | 8..36  | read tick: bumped (wrapping) by every event with read bits   |
//! | 36..64 | write tick: bumped (wrapping) by every event with write bits |
//!
//! Readiness is edge-triggered: the reactor only *sets* bits, and a task
//! *clears* them when its syscall returns `WouldBlock`. The clear is a
//! compare-and-swap that only succeeds if the tick of each direction being
//! cleared still equals the tick the task observed with its
//! [`ReadyEvent`]; an event that arrived between the observation and the
//! `WouldBlock` therefore bumps the tick and survives the clear, so no edge
//! is ever lost. Ticks are per direction so that, e.g., the `EPOLLOUT`-only
//! edge an eventfd reports when it is read does not stop the reader from
//! clearing `READABLE` (which would only cost a spurious wakeup, but
//! costs it every time). `READ_CLOSED`/`WRITE_CLOSED` are never
//! cleared (they are final).
//!
//! Waiters live behind a mutex: one waker slot per direction for the
//! `poll_*_ready` style (the last task to poll a direction is the one woken,
//! as for any `AsyncRead`), plus an unbounded list for `readable()` /
//! `writable()` / `ready()` futures, so any number of tasks may await the
//! same resource concurrently.
//!
//! An event hook ([`EventHook`], installed once by
//! `AsyncFd::set_event_hook`, kept in a [`HookSlot`]) lets an embedder
//! handle events on the driver's thread instead of waking a task:
//! [`ScheduledIo::dispatch`] offers the readiness to the hook outside any
//! lock; when the hook consumed the event its read/write bits are left
//! clear and nobody is woken, otherwise it is stored and wakes the waiters
//! as any event does.
//! Shutdown never goes through the hook.
//!
//! An entry's address is its epoll token (see `registration_set`), so its
//! memory may outlive its registration for a while. [`ScheduledIo::release`]
//! therefore lets go at once of everything the owner handed in: it detaches
//! the hook (and with it whatever the hook owns, e.g. a C watch's control
//! block, which holds its runtime) and drops the stored wakers. A late
//! event then only sets bits nobody reads.
//!
//! Lost-wakeup freedom: the reactor stores readiness *before* locking the
//! waiters; a task stores its waker *under the lock* and re-reads readiness
//! after doing so. Either the task sees the new bits, or the reactor's lock
//! comes after the task's and sees the waker. Wakers are always invoked
//! after the lock is released (see [`WakeList`]).
use crate::io::hook_slot::{EventHook, HookSlot, Offered};
use crate::io::{Interest, Ready};
use crate::loom::sync::atomic::{AtomicU64, Ordering::AcqRel, Ordering::Acquire};
use crate::loom::sync::Mutex;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const READY_MASK: u64 = 0x3f;
const SHUTDOWN: u64 = 1 << 7;
const READ_TICK_SHIFT: u32 = 8;
const WRITE_TICK_SHIFT: u32 = 36;
/// Wide enough that a clear observed 2^28 events ago cannot match by
/// wrap-around in practice. (With 12 bits, a clear made exactly 4,096 read
/// events after its observation, as a foreign loop clearing late could,
/// removed the readiness of the newest event; a review reproduced it.)
const TICK_BITS: u32 = 28;
const TICK_MAX: u64 = (1 << TICK_BITS) - 1;
const READ_TICK_MASK: u64 = TICK_MAX << READ_TICK_SHIFT;
const WRITE_TICK_MASK: u64 = TICK_MAX << WRITE_TICK_SHIFT;

/// Readiness bits that belong to the read / write direction (an error
/// belongs to both).
const READ_BITS: Ready = Ready::READABLE
    .union(Ready::READ_CLOSED)
    .union(Ready::PRIORITY)
    .union(Ready::ERROR);
const WRITE_BITS: Ready = Ready::WRITABLE
    .union(Ready::WRITE_CLOSED)
    .union(Ready::ERROR);

/// The tick bits a change to `ready` is ordered by.
fn tick_mask(ready: Ready) -> u64 {
    let mut mask = 0;
    if !ready.intersection(READ_BITS).is_empty() {
        mask |= READ_TICK_MASK;
    }
    if !ready.intersection(WRITE_BITS).is_empty() {
        mask |= WRITE_TICK_MASK;
    }
    mask
}

fn bump(word: u64, shift: u32) -> u64 {
    let tick = ((word >> shift) & TICK_MAX).wrapping_add(1) & TICK_MAX;
    (word & !(TICK_MAX << shift)) | (tick << shift)
}

/// Which waker slot a `poll_*_ready` call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    pub(crate) fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready::from_interest(Interest::READABLE),
            Direction::Write => Ready::from_interest(Interest::WRITABLE),
        }
    }
}

/// Readiness observed by a task, with the ticks needed to clear it safely.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyEvent {
    pub(crate) ready: Ready,
    /// The state word's tick bits at observation time.
    pub(crate) tick: u64,
    pub(crate) is_shutdown: bool,
}

/// The outcome of [`ScheduledIo::clear_readiness`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClearOutcome {
    /// The observed bits were removed.
    Cleared,
    /// New readiness arrived since the observation; nothing was removed.
    Stale,
}

/// The shared state of one registration (see the module docs).
pub(crate) struct ScheduledIo {
    /// This entry's key in the registration set's slab of live entries.
    index: usize,
    readiness: AtomicU64,
    waiters: Mutex<Waiters>,
    /// Offered each event by `dispatch` before anyone is woken.
    hook: HookSlot,
}

impl std::fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledIo")
            .field("index", &self.index)
            .field("readiness", &self.readiness)
            .field("waiters", &self.waiters)
            .field("hook", &self.hook)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
    list: slab::Slab<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    mask: Ready,
    waker: Option<Waker>,
}

fn shutdown_error() -> io::Error {
    io::Error::other("the runtime's I/O driver is shutting down")
}

impl ScheduledIo {
    /// An entry that the registration set keeps at `index`.
    pub(crate) fn new(index: usize) -> ScheduledIo {
        ScheduledIo {
            index,
            readiness: AtomicU64::new(0),
            waiters: Mutex::new(Waiters::default()),
            hook: HookSlot::new(),
        }
    }

    /// The key of this entry in the registration set's slab.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// The epoll token of this entry: its address. Never `usize::MAX` (the
    /// driver's wake token), since the address of an aligned value is even.
    pub(crate) fn token(&self) -> mio::Token {
        mio::Token(self as *const ScheduledIo as usize)
    }

    /// The owner let go: detach the hook (dropping it now, or as soon as a
    /// call in progress returns) and drop the stored wakers, so nothing the
    /// owner handed in is kept by memory that waits for late events.
    pub(crate) fn release(&self) {
        self.hook.detach();
        let mut waiters = self.waiters.lock();
        let reader = waiters.reader.take();
        let writer = waiters.writer.take();
        // List entries stay (a `Readiness` future owns its key); only the
        // wakers go.
        let list: Vec<Waker> = waiters
            .list
            .iter_mut()
            .filter_map(|(_, w)| w.waker.take())
            .collect();
        drop(waiters);
        drop((reader, writer, list));
    }

    fn decode(word: u64) -> ReadyEvent {
        ReadyEvent {
            ready: Ready::from_bits((word & READY_MASK) as u8),
            tick: word & (READ_TICK_MASK | WRITE_TICK_MASK),
            is_shutdown: word & SHUTDOWN != 0,
        }
    }

    /// The current readiness, masked by `mask`.
    pub(crate) fn ready_event(&self, mask: Ready) -> ReadyEvent {
        let mut ev = Self::decode(self.readiness.load(Acquire));
        ev.ready = ev.ready.intersection(mask);
        ev
    }

    /// Reactor side: adds `ready` and bumps the tick of each direction it
    /// concerns (both when it concerns neither, to stay conservative).
    pub(crate) fn set_readiness(&self, ready: Ready) {
        let mut mask = tick_mask(ready);
        if mask == 0 {
            mask = READ_TICK_MASK | WRITE_TICK_MASK;
        }
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            let mut next = cur | ready.bits() as u64;
            if mask & READ_TICK_MASK != 0 {
                next = bump(next, READ_TICK_SHIFT);
            }
            if mask & WRITE_TICK_MASK != 0 {
                next = bump(next, WRITE_TICK_SHIFT);
            }
            Some(next)
        });
    }

    /// Task side: removes the bits of `event` unless readiness for their
    /// direction arrived since it was observed (tick changed). Closed bits
    /// are never removed.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) -> ClearOutcome {
        let remove = event.ready - (Ready::READ_CLOSED | Ready::WRITE_CLOSED);
        let mask = tick_mask(remove);
        let res = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            if cur & mask != event.tick & mask {
                return None;
            }
            Some(cur & !(remove.bits() as u64))
        });
        match res {
            Ok(_) => ClearOutcome::Cleared,
            Err(_) => ClearOutcome::Stale,
        }
    }

    /// Installs the event hook; `Err` gives it back if one is installed
    /// (or the entry was released).
    pub(crate) fn set_hook(&self, hook: Box<EventHook>) -> Result<(), Box<EventHook>> {
        self.hook.install(hook)
    }

    /// Reactor side, for each event: offers `ready` to the hook if there is
    /// one; an event the hook consumed leaves its read/write bits clear
    /// and wakes nobody, any other is stored and wakes the waiters
    /// interested in it. The hook runs under no lock: it is embedder code,
    /// which may poll or release this registration (the memory stays until
    /// the driver's next turn, and the hook until it returns).
    pub(crate) fn dispatch(&self, ready: Ready) {
        match self.hook.offer(ready) {
            Offered::Consumed => self.consume(ready),
            Offered::Declined | Offered::NoHook => {
                self.set_readiness(ready);
                self.wake(ready);
            }
        }
    }

    /// Reactor side, for an event the hook consumed: the same end state as
    /// storing `ready` and clearing it again (its read/write bits clear,
    /// its closed bits set), without touching the word when it already is
    /// so (the common case: one load instead of two read-modify-writes).
    ///
    /// No tick is bumped. The ticks only keep a task's clear from removing
    /// bits an event set after the task observed them; this event sets
    /// none, and any bits set since the task's observation came with a
    /// bumped tick of their own. Only the driver's thread sets bits, so
    /// the word can only lose bits between the load and the update.
    fn consume(&self, ready: Ready) {
        let closed = ready.intersection(Ready::READ_CLOSED | Ready::WRITE_CLOSED);
        let remove = ready - closed;
        let cur = self.readiness.load(Acquire);
        if cur & remove.bits() as u64 == 0 && cur & closed.bits() as u64 == closed.bits() as u64 {
            return;
        }
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            Some((cur & !(remove.bits() as u64)) | closed.bits() as u64)
        });
    }

    /// Marks the registration shut down and wakes everyone.
    pub(crate) fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, AcqRel);
        self.wake(Ready::ALL);
    }

    /// Wakes every waiter interested in any bit of `ready` (outside the lock).
    pub(crate) fn wake(&self, ready: Ready) {
        let mut first = None;
        let mut wakers = WakeList::new();
        let mut waiters = self.waiters.lock();
        if ready.intersection(Direction::Read.mask()) != Ready::EMPTY {
            if let Some(w) = waiters.reader.take() {
                wakers.push(w);
            }
        }
        if ready.intersection(Direction::Write.mask()) != Ready::EMPTY {
            if let Some(w) = waiters.writer.take() {
                wakers.push(w);
            }
        }
        loop {
            let mut more = false;
            for (_, waiter) in waiters.list.iter_mut() {
                if waiter.mask.intersection(ready) == Ready::EMPTY {
                    continue;
                }
                if let Some(w) = waiter.waker.take() {
                    if !wakers.has_inline_room() {
                        waiter.waker = Some(w);
                        more = true;
                        break;
                    }
                    wakers.push(w);
                }
            }
            if !more {
                break;
            }
            // Batch full: wake outside the lock, then continue (woken
            // waiters have no waker left, so the next pass skips them). A
            // panicking (foreign) waker does not keep the others, of this
            // batch or the next, from being woken; its panic goes on last.
            drop(waiters);
            if let Some(p) = wakers.wake_rest() {
                first.get_or_insert(p);
            }
            waiters = self.waiters.lock();
        }
        drop(waiters);
        if let Some(p) = wakers.wake_rest() {
            first.get_or_insert(p);
        }
        if let Some(panic) = first {
            std::panic::resume_unwind(panic);
        }
    }

    /// `poll_*_ready`: ready bits for `direction`, or registers `cx` in that
    /// direction's single slot.
    pub(crate) fn poll_readiness(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mask = direction.mask();
        let ev = self.ready_event(mask);
        if ev.is_shutdown {
            return Poll::Ready(Err(shutdown_error()));
        }
        if !ev.ready.is_empty() {
            return Poll::Ready(Ok(ev));
        }
        let mut waiters = self.waiters.lock();
        let slot = match direction {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        // The replaced waker is dropped after unlocking: its drop is
        // foreign code (a C waker's `drop_data` may call back in here).
        let old = match slot {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => slot.replace(cx.waker().clone()),
        };
        // Re-check under the lock (see "Lost-wakeup freedom").
        let ev = self.ready_event(mask);
        drop(waiters);
        drop(old);
        if ev.is_shutdown {
            Poll::Ready(Err(shutdown_error()))
        } else if !ev.ready.is_empty() {
            Poll::Ready(Ok(ev))
        } else {
            Poll::Pending
        }
    }

    /// A future resolving once any bit of `interest` is ready.
    pub(crate) fn readiness(&self, interest: Interest) -> Readiness<'_> {
        Readiness {
            io: self,
            mask: Ready::from_interest(interest),
            key: None,
        }
    }

    /// Number of waiters in the list (tests).
    #[cfg(test)]
    pub(crate) fn waiter_count(&self) -> usize {
        self.waiters.lock().list.len()
    }
}

/// The future behind `readable()`/`writable()`/`ready()`; its list entry is
/// removed when it completes or is dropped.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Readiness<'a> {
    io: &'a ScheduledIo,
    mask: Ready,
    key: Option<usize>,
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let ev = this.io.ready_event(this.mask);
        if this.key.is_none() {
            if ev.is_shutdown {
                return Poll::Ready(Err(shutdown_error()));
            }
            if !ev.ready.is_empty() {
                return Poll::Ready(Ok(ev));
            }
        }
        let mut waiters = this.io.waiters.lock();
        let ev = this.io.ready_event(this.mask);
        if ev.is_shutdown || !ev.ready.is_empty() {
            // Wakers (foreign code) are dropped after unlocking.
            let old = this.key.take().map(|key| waiters.list.remove(key));
            drop(waiters);
            drop(old);
            return Poll::Ready(if ev.is_shutdown {
                Err(shutdown_error())
            } else {
                Ok(ev)
            });
        }
        let old = match this.key {
            Some(key) => {
                let waiter = &mut waiters.list[key];
                match &waiter.waker {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => waiter.waker.replace(cx.waker().clone()),
                }
            }
            None => {
                this.key = Some(waiters.list.insert(Waiter {
                    mask: this.mask,
                    waker: Some(cx.waker().clone()),
                }));
                None
            }
        };
        drop(waiters);
        drop(old);
        Poll::Pending
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // The waiter (its waker) is dropped after unlocking.
            let waiter = self.io.waiters.lock().list.remove(key);
            drop(waiter);
        }
    }
}

/// A batch of wakers to invoke once no lock is held: [`ScheduledIo::wake`]
/// wakes it (unlocked) whenever its inline room runs out, so it never
/// allocates.
pub(crate) type WakeList = crate::sync::wait_list::Wakers<32>;

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    #[test]
    fn clear_keeps_readiness_that_arrived_later() {
        let io = ScheduledIo::new(0);
        io.set_readiness(Ready::READABLE);
        let ev = io.ready_event(Direction::Read.mask());
        assert!(ev.ready.is_readable());
        // A new edge arrives before the task's syscall said WouldBlock.
        io.set_readiness(Ready::READABLE);
        assert_eq!(io.clear_readiness(ev), ClearOutcome::Stale);
        let ev2 = io.ready_event(Direction::Read.mask());
        assert!(ev2.ready.is_readable());
        assert_eq!(io.clear_readiness(ev2), ClearOutcome::Cleared);
        assert!(io.ready_event(Ready::ALL).ready.is_empty());
    }

    #[test]
    fn an_edge_for_the_other_direction_does_not_block_a_clear() {
        let io = ScheduledIo::new(0);
        io.set_readiness(Ready::READABLE | Ready::WRITABLE);
        let read_ev = io.ready_event(Direction::Read.mask());
        let write_ev = io.ready_event(Direction::Write.mask());
        // E.g. an eventfd reports EPOLLOUT when it is read.
        io.set_readiness(Ready::WRITABLE);
        assert_eq!(io.clear_readiness(write_ev), ClearOutcome::Stale);
        assert_eq!(io.clear_readiness(read_ev), ClearOutcome::Cleared);
        let ev = io.ready_event(Ready::ALL);
        assert!(!ev.ready.is_readable() && ev.ready.is_writable());
        // An error edge concerns both directions.
        let write_ev = io.ready_event(Direction::Write.mask());
        io.set_readiness(Ready::ERROR);
        assert_eq!(io.clear_readiness(write_ev), ClearOutcome::Stale);
    }

    #[test]
    fn ticks_wrap_without_touching_other_bits() {
        let io = ScheduledIo::new(0);
        // Both ticks just below the wrap, then past it.
        io.readiness.store(
            (TICK_MAX - 2) << READ_TICK_SHIFT | (TICK_MAX - 2) << WRITE_TICK_SHIFT,
            std::sync::atomic::Ordering::Release,
        );
        for _ in 0..5 {
            io.set_readiness(Ready::READABLE);
        }
        let ev = io.ready_event(Ready::ALL);
        assert_eq!(
            ev.tick >> READ_TICK_SHIFT & TICK_MAX,
            2,
            "the read tick wrapped"
        );
        assert_eq!(
            ev.tick >> WRITE_TICK_SHIFT,
            TICK_MAX - 2,
            "the write tick stayed"
        );
        assert!(ev.ready.is_readable() && !ev.ready.is_writable() && !ev.is_shutdown);
        assert_eq!(io.clear_readiness(ev), ClearOutcome::Cleared);
        assert!(io.ready_event(Ready::ALL).ready.is_empty());
    }

    #[test]
    fn closed_bits_are_final() {
        let io = ScheduledIo::new(0);
        io.set_readiness(Ready::READABLE | Ready::READ_CLOSED);
        let ev = io.ready_event(Direction::Read.mask());
        assert_eq!(io.clear_readiness(ev), ClearOutcome::Cleared);
        let ev = io.ready_event(Direction::Read.mask());
        assert!(ev.ready.is_read_closed() && !ev.ready.is_readable());
    }

    #[test]
    fn a_consumed_event_leaves_read_write_bits_clear_and_closed_bits_set() {
        let io = ScheduledIo::new(0);
        assert!(io.set_hook(Box::new(|_| true)).is_ok());
        // Readiness a declined (here: hook-less) event stored earlier and
        // a task observed.
        io.set_readiness(Ready::READABLE | Ready::WRITABLE);
        let seen = io.ready_event(Ready::ALL);
        io.dispatch(Ready::READABLE | Ready::READ_CLOSED);
        let ev = io.ready_event(Ready::ALL);
        assert!(!ev.ready.is_readable() && ev.ready.is_read_closed());
        // The other direction's bits are left alone.
        assert!(ev.ready.is_writable());
        // No tick moved, so the task's clear from before still applies
        // (it only removes bits), and leaves the closed bit.
        assert_eq!(ev.tick, seen.tick);
        assert_eq!(io.clear_readiness(seen), ClearOutcome::Cleared);
        let ev = io.ready_event(Ready::ALL);
        assert!(ev.ready.is_read_closed() && !ev.ready.is_writable());
        // Consumed again with nothing to change: the word stays as is.
        io.dispatch(Ready::READABLE);
        assert_eq!(
            io.readiness.load(Acquire),
            ev.tick | Ready::READ_CLOSED.bits() as u64
        );
    }

    #[test]
    fn a_declined_event_is_stored_and_bumps_its_tick() {
        let io = ScheduledIo::new(0);
        assert!(io.set_hook(Box::new(|_| false)).is_ok());
        let before = io.ready_event(Ready::ALL);
        io.dispatch(Ready::READABLE);
        let ev = io.ready_event(Ready::ALL);
        assert!(ev.ready.is_readable());
        assert_ne!(ev.tick, before.tick);
    }

    #[test]
    fn many_waiters_all_woken_and_removed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct Count(AtomicUsize);
        impl futures_util::task::ArcWake for Count {
            fn wake_by_ref(a: &Arc<Self>) {
                a.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = futures_util::task::waker(count.clone());
        let mut cx = Context::from_waker(&waker);
        let io = ScheduledIo::new(0);
        let mut futs: Vec<_> = (0..100).map(|_| io.readiness(Interest::READABLE)).collect();
        for f in &mut futs {
            assert!(Pin::new(f).poll(&mut cx).is_pending());
        }
        // A writable edge wakes no reader.
        io.set_readiness(Ready::WRITABLE);
        io.wake(Ready::WRITABLE);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        io.set_readiness(Ready::READABLE);
        io.wake(Ready::READABLE);
        assert_eq!(count.0.load(Ordering::SeqCst), 100);
        for f in &mut futs {
            assert!(Pin::new(f).poll(&mut cx).is_ready());
        }
        drop(futs);
        assert_eq!(io.waiter_count(), 0);
    }

    #[test]
    fn shutdown_fails_waiters() {
        let io = ScheduledIo::new(0);
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(io.poll_readiness(&mut cx, Direction::Write).is_pending());
        let mut fut = io.readiness(Interest::READABLE);
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        io.shutdown();
        assert!(matches!(
            io.poll_readiness(&mut cx, Direction::Write),
            Poll::Ready(Err(_))
        ));
        assert!(matches!(
            Pin::new(&mut fut).poll(&mut cx),
            Poll::Ready(Err(_))
        ));
    }
}
