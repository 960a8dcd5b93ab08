//! The hierarchical timing wheel: 6 levels of 64 slots at one tick (1 ms)
//! per level-0 slot, spanning `64^6` ticks (about 2.2 years).
//!
//! # Design
//! `elapsed` is the tick the wheel has been advanced to. An entry due at
//! `when > elapsed` is filed at the level of the highest 6-bit group in which
//! `when` and `elapsed` differ (so level 0 holds entries due within the
//! current 64-tick block, level 1 those within the current 4096-tick block,
//! and so on), in the slot `when` falls in at that level. Entries further out
//! than the wheel spans go to the top level, whose slots then act as a ring:
//! they come up once per rotation and are re-filed until in range.
//!
//! Advancing ([`Wheel::poll`]) repeatedly takes the earliest occupied slot
//! whose start tick is `<= now`: the entries of that slot that are due move
//! to the `pending` list (in FIFO order), the others (a higher-level slot's
//! entries, or entries postponed without the lock) are re-filed at a lower
//! level relative to the slot's start: the cascade. Because the pending list
//! is drained before the next slot is taken, entries come out in deadline
//! order (by tick).
//!
//! Insert, remove and re-file are O(1); finding the next slot is O(levels)
//! bit operations. `len` counts linked entries (slots + pending).
//!
//! Invariants: every entry linked here has a non-terminal state and
//! `cached_when > elapsed` (or is pending with `CACHED_PENDING`); an entry is
//! filed at `level_for(elapsed, cached_when)`, which does not change as
//! `elapsed` advances until its slot comes up. The wheel is only touched with
//! the time driver's lock held.
use super::entry::{EntryList, MarkPending, TimerShared, CACHED_PENDING};
use super::level::{Expiration, Level};
use std::ptr::NonNull;

/// Number of levels.
pub(crate) const NUM_LEVELS: usize = 6;

/// Ticks the wheel spans before the top level wraps.
pub(crate) const MAX_DURATION: u64 = (1 << (6 * NUM_LEVELS)) - 1;

/// Result of [`Wheel::insert`].
#[derive(Debug)]
#[must_use]
pub(crate) enum Insert {
    /// Filed; the entry will come up at this tick.
    Filed(u64),
    /// Its tick is not after `elapsed`: fire it now instead.
    Elapsed,
}

/// The timing wheel; see the module documentation.
#[derive(Debug)]
pub(crate) struct Wheel {
    elapsed: u64,
    levels: Box<[Level]>,
    pending: EntryList,
    len: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: (0..NUM_LEVELS).map(Level::new).collect(),
            pending: EntryList::new(),
            len: 0,
        }
    }

    /// The tick the wheel has been advanced to.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Entries linked in the wheel (registered, not yet fired).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Files an armed entry (its state and `cached_when` hold `when`).
    ///
    /// # Safety
    /// `item` is live, pinned, in no list, and stays live until it is
    /// removed or popped (lock held).
    pub(crate) unsafe fn insert(&mut self, item: NonNull<TimerShared>) -> Insert {
        // SAFETY: `item` is live (caller).
        let when = unsafe { item.as_ref() }.cached_when();
        if when <= self.elapsed {
            return Insert::Elapsed;
        }
        let level = level_for(self.elapsed, when);
        // SAFETY: forwarded from the caller.
        unsafe { self.levels[level].add_entry(item) };
        self.len += 1;
        Insert::Filed(when)
    }

    /// Unlinks an entry that is linked in this wheel.
    ///
    /// # Safety
    /// `item` is live and linked in this wheel (non-terminal state).
    pub(crate) unsafe fn remove(&mut self, item: NonNull<TimerShared>) {
        // SAFETY: `item` is live (caller).
        let when = unsafe { item.as_ref() }.cached_when();
        if when == CACHED_PENDING {
            // SAFETY: pending entries are in `self.pending` (caller).
            let removed = unsafe { self.pending.remove(item) };
            debug_assert!(removed.is_some());
        } else {
            debug_assert!(
                self.elapsed < when,
                "elapsed={} when={}",
                self.elapsed,
                when
            );
            let level = level_for(self.elapsed, when);
            // SAFETY: filed at `level_for(elapsed, cached_when)` (invariant).
            unsafe { self.levels[level].remove_entry(item) };
        }
        self.len -= 1;
    }

    /// The tick at which the wheel next has work (`elapsed` when entries
    /// are already pending).
    pub(crate) fn next_expiration_tick(&self) -> Option<u64> {
        self.next_expiration().map(|e| e.deadline)
    }

    fn next_expiration(&self) -> Option<Expiration> {
        if !self.pending.is_empty() {
            return Some(Expiration {
                level: 0,
                slot: 0,
                deadline: self.elapsed,
            });
        }
        self.levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed))
    }

    /// Advances towards `now`, returning the next due entry (now in state
    /// `STATE_PENDING_FIRE` and unlinked), or `None` once everything due by
    /// `now` has been returned (then `elapsed == now`).
    pub(crate) fn poll(&mut self, now: u64) -> Option<NonNull<TimerShared>> {
        loop {
            if let Some(item) = self.pending.pop_back() {
                self.len -= 1;
                return Some(item);
            }
            match self.next_expiration() {
                Some(exp) if exp.deadline <= now => {
                    self.process_expiration(&exp);
                    self.set_elapsed(exp.deadline);
                }
                _ => {
                    self.set_elapsed(now);
                    return None;
                }
            }
        }
    }

    /// Unlinks any one entry (in no particular order); used to drain the
    /// wheel at shutdown. The entry's state is left as it was.
    pub(crate) fn pop_any(&mut self) -> Option<NonNull<TimerShared>> {
        if let Some(item) = self.pending.pop_back() {
            self.len -= 1;
            return Some(item);
        }
        for level in self.levels.iter_mut() {
            if let Some(slot) = level.any_occupied_slot() {
                let mut list = level.take_slot(slot);
                let item = list.pop_back().expect("occupied slot is non-empty");
                // Move the rest to `pending`; order is irrelevant here. Each
                // is marked as being there: the drain wakes in batches with
                // the lock released, and an owner that drops or resets its
                // timer meanwhile must find it in `pending` (`remove`), not
                // in the slot it left (which corrupted both lists and left a
                // freed entry linked).
                while let Some(other) = list.pop_back() {
                    // SAFETY: `other` was linked in the wheel, so it is live
                    // and pinned (its owner unlinks it under this lock before
                    // freeing it), and `pop_back` unlinked it.
                    unsafe {
                        other.as_ref().set_cached_pending();
                        self.pending.push_front(other);
                    }
                }
                self.len -= 1;
                return Some(item);
            }
        }
        None
    }

    fn set_elapsed(&mut self, when: u64) {
        assert!(
            self.elapsed <= when,
            "the timer wheel cannot go back in time (elapsed={}, when={})",
            self.elapsed,
            when
        );
        self.elapsed = when;
    }

    fn process_expiration(&mut self, exp: &Expiration) {
        // Take the whole slot first: at the top level an entry may be
        // re-filed into the very slot being processed.
        let mut entries = self.levels[exp.level].take_slot(exp.slot);
        while let Some(item) = entries.pop_back() {
            // SAFETY: linked entries are live (invariant).
            match unsafe { item.as_ref() }.mark_pending(exp.deadline) {
                // SAFETY: live, pinned, just unlinked.
                MarkPending::Due => unsafe { self.pending.push_front(item) },
                MarkPending::Postponed(when) => {
                    let level = level_for(exp.deadline, when);
                    // SAFETY: live, pinned, just unlinked; `cached_when`
                    // was updated to `when` by `mark_pending`.
                    unsafe { self.levels[level].add_entry(item) };
                }
            }
        }
    }
}

/// The level an entry due at `when` is filed at, seen from `elapsed`.
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    const SLOT_MASK: u64 = (1 << 6) - 1;
    // Mask the low bits so level 0 is chosen when only those differ.
    let mut masked = (elapsed ^ when) | SLOT_MASK;
    if masked >= MAX_DURATION {
        // Further than the wheel spans: file at the top level.
        masked = MAX_DURATION - 1;
    }
    let significant = 63 - masked.leading_zeros() as usize;
    significant / 6
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::entry::{Fired, MAX_SAFE_TICK};
    use super::*;
    use std::pin::Pin;

    fn entry(when: u64) -> Pin<Box<TimerShared>> {
        let e = Box::pin(TimerShared::new());
        e.set_expiration(when);
        e
    }

    fn ptr(e: &Pin<Box<TimerShared>>) -> NonNull<TimerShared> {
        NonNull::from(&**e)
    }

    /// Polls up to `now`, firing everything returned; yields the ticks the
    /// fired entries were registered for (read back from `entries`).
    fn fire_until(
        wheel: &mut Wheel,
        now: u64,
        entries: &[(u64, Pin<Box<TimerShared>>)],
    ) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(item) = wheel.poll(now) {
            let (when, _) = entries
                .iter()
                .find(|(_, e)| ptr(e) == item)
                .expect("known entry");
            // SAFETY: the entry is live (owned by `entries`).
            let _ = unsafe { item.as_ref() }.fire(Fired::Elapsed);
            out.push(*when);
        }
        out
    }

    #[test]
    fn level_for_boundaries() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(64, 127), 0);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, 1 << 30), 5);
        assert_eq!(level_for(0, MAX_DURATION), 5);
        assert_eq!(level_for(0, MAX_SAFE_TICK), 5);
        assert_eq!(level_for(1 << 40, (1 << 40) + 5), 0);
    }

    #[test]
    fn insert_elapsed_and_remove() {
        let mut wheel = Wheel::new();
        let e = entry(0);
        // SAFETY: `e` is live, pinned and in no list.
        assert!(matches!(unsafe { wheel.insert(ptr(&e)) }, Insert::Elapsed));
        let e = entry(100);
        assert!(matches!(
            // SAFETY: as above.
            unsafe { wheel.insert(ptr(&e)) },
            Insert::Filed(100)
        ));
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.next_expiration_tick(), Some(64)); // level-1 slot start
                                                            // SAFETY: `e` is linked in `wheel`.
        unsafe { wheel.remove(ptr(&e)) };
        e.cancel();
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_expiration_tick(), None);
        assert!(wheel.poll(1000).is_none());
        assert_eq!(wheel.elapsed(), 1000);
    }

    #[test]
    fn cascades_through_every_level_in_deadline_order() {
        let mut wheel = Wheel::new();
        // One entry per level, in scrambled order, plus two sharing a tick.
        let ticks = [
            5u64,
            3 * 4096 + 7,
            64 * 3 + 1,
            (1 << 30) * 2 + 12345,
            (1 << 24) + 99,
            (1 << 18) * 5 + 1,
            5,
            MAX_DURATION + 1000, // beyond the wheel: top-level ring
        ];
        let entries: Vec<_> = ticks.iter().map(|&t| (t, entry(t))).collect();
        for (_, e) in &entries {
            // SAFETY: live, pinned, in no list, outlives the wheel use.
            assert!(matches!(unsafe { wheel.insert(ptr(e)) }, Insert::Filed(_)));
        }
        assert_eq!(wheel.len(), ticks.len());
        let mut fired = Vec::new();
        // Advance in steps of varied size, checking nothing fires early.
        let mut now = 0;
        while wheel.len() > 0 {
            let next = wheel.next_expiration_tick().unwrap();
            assert!(next >= wheel.elapsed());
            now = next.max(now + 1);
            let got = fire_until(&mut wheel, now, &entries);
            for t in &got {
                assert!(*t <= now, "fired {t} at {now}");
            }
            fired.extend(got);
        }
        let mut sorted = ticks.to_vec();
        sorted.sort_unstable();
        assert_eq!(fired, sorted);
    }

    #[test]
    fn big_jump_fires_all_due_in_order() {
        let mut wheel = Wheel::new();
        let mut rng = fastrand::Rng::with_seed(7);
        let ticks: Vec<u64> = (0..(if cfg!(miri) { 100 } else { 2000 }))
            .map(|_| rng.u64(1..5_000_000))
            .collect();
        let entries: Vec<_> = ticks.iter().map(|&t| (t, entry(t))).collect();
        for (_, e) in &entries {
            // SAFETY: live, pinned, in no list, outlives the wheel use.
            let _ = unsafe { wheel.insert(ptr(e)) };
        }
        let fired1 = fire_until(&mut wheel, 2_500_000, &entries);
        let fired2 = fire_until(&mut wheel, 5_000_000, &entries);
        assert!(fired1.windows(2).all(|w| w[0] <= w[1]));
        assert!(fired2.windows(2).all(|w| w[0] <= w[1]));
        assert!(fired1.iter().all(|&t| t <= 2_500_000));
        assert!(fired2.iter().all(|&t| t > 2_500_000));
        assert_eq!(fired1.len() + fired2.len(), ticks.len());
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn postponed_entries_are_refiled() {
        let mut wheel = Wheel::new();
        let e = entry(10);
        // SAFETY: live, pinned, in no list.
        let _ = unsafe { wheel.insert(ptr(&e)) };
        // Owner postpones without the lock.
        assert!(e.extend_expiration(5000).is_ok());
        assert!(wheel.poll(10).is_none(), "postponed entry must not fire");
        assert_eq!(wheel.len(), 1);
        assert_eq!(e.cached_when(), 5000);
        assert!(wheel.poll(4999).is_none());
        let got = wheel.poll(5000).expect("due at 5000");
        assert_eq!(got, ptr(&e));
        let _ = e.fire(Fired::Elapsed);
    }

    #[test]
    fn remove_pending_and_drain() {
        let mut wheel = Wheel::new();
        let es: Vec<_> = (1..=4).map(|t| entry(t * 1000)).collect();
        for e in &es {
            // SAFETY: live, pinned, in no list.
            let _ = unsafe { wheel.insert(ptr(e)) };
        }
        // Make the first two pending, then remove one of them from pending.
        let e = entry(1000);
        // SAFETY: live, pinned, in no list.
        let _ = unsafe { wheel.insert(ptr(&e)) };
        let first = wheel.poll(1000).unwrap();
        let other = if first == ptr(&e) {
            ptr(&es[0])
        } else {
            ptr(&e)
        };
        // SAFETY: the other due entry is linked in `pending`.
        unsafe { wheel.remove(other) };
        // SAFETY: both are live.
        unsafe {
            let _ = first.as_ref().fire(Fired::Elapsed);
            other.as_ref().cancel();
        }
        assert_eq!(wheel.len(), 3);
        let mut drained = 0;
        while let Some(item) = wheel.pop_any() {
            // SAFETY: live (owned by `es`).
            let _ = unsafe { item.as_ref() }.fire(Fired::Shutdown);
            drained += 1;
        }
        assert_eq!(drained, 3);
        assert_eq!(wheel.len(), 0);
        assert!(es[1..].iter().all(|e| e.fired() == Some(Fired::Shutdown)));
    }

    #[test]
    fn random_operations_match_a_model() {
        let mut rng = fastrand::Rng::with_seed(42);
        let mut wheel = Wheel::new();
        // (tick the owner wants, entry); tick None = not registered.
        let entries: Vec<Pin<Box<TimerShared>>> = (0..(if cfg!(miri) { 40 } else { 300 }))
            .map(|_| Box::pin(TimerShared::new()))
            .collect();
        let mut want: Vec<Option<u64>> = vec![None; entries.len()];
        let far = |rng: &mut fastrand::Rng| match rng.u8(0..6) {
            0 => rng.u64(1..64),
            1 => rng.u64(1..4096),
            2 => rng.u64(1..300_000),
            3 => rng.u64(1..20_000_000),
            4 => rng.u64(1..(1 << 33)),
            _ => rng.u64(1..(1 << 38)),
        };
        for _ in 0..(if cfg!(miri) { 1_000 } else { 20_000 }) {
            let i = rng.usize(..entries.len());
            let e = &entries[i];
            match rng.u8(0..10) {
                0..=3 => {
                    // (Re-)register.
                    if want[i].is_some() {
                        // SAFETY: registered entries are linked here.
                        unsafe { wheel.remove(ptr(e)) };
                    }
                    let when = wheel.elapsed() + far(&mut rng);
                    e.set_expiration(when);
                    // SAFETY: live, pinned, unlinked.
                    match unsafe { wheel.insert(ptr(e)) } {
                        Insert::Filed(_) => want[i] = Some(when),
                        Insert::Elapsed => unreachable!(),
                    }
                }
                4 => {
                    if want[i].is_some() {
                        // SAFETY: registered entries are linked here.
                        unsafe { wheel.remove(ptr(e)) };
                        e.cancel();
                        want[i] = None;
                    }
                }
                5 => {
                    if let Some(w) = want[i] {
                        let later = w + far(&mut rng);
                        if e.extend_expiration(later).is_ok() {
                            want[i] = Some(later);
                        }
                    }
                }
                _ => {
                    let now = wheel.elapsed() + far(&mut rng) / rng.u64(1..1000);
                    let mut last = 0;
                    while let Some(item) = wheel.poll(now) {
                        let j = entries.iter().position(|e| ptr(e) == item).unwrap();
                        let w = want[j].take().expect("fired an unregistered entry");
                        assert!(w <= now, "fired {w} early at {now}");
                        assert!(w >= last, "out of order: {w} after {last}");
                        last = w;
                        let _ = entries[j].fire(Fired::Elapsed);
                    }
                    for w in want.iter().flatten() {
                        assert!(*w > now, "entry due at {w} not fired at {now}");
                    }
                }
            }
            assert_eq!(wheel.len(), want.iter().flatten().count());
        }
        for (i, e) in entries.iter().enumerate() {
            if want[i].is_some() {
                // SAFETY: registered entries are linked here.
                unsafe { wheel.remove(ptr(e)) };
                e.cancel();
            }
        }
        assert_eq!(wheel.len(), 0);
    }
}
