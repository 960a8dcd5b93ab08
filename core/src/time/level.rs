//! One level of the hierarchical timing wheel: 64 slots, each an intrusive
//! list of entries, plus a bitfield of which slots are occupied.
//!
//! Level `n` has slots `64^n` ticks wide, so it spans `64^(n+1)` ticks.
//! An entry due at tick `when` is filed in slot `(when >> 6n) % 64`.
//!
//! Invariant: bit `s` of `occupied` is set iff `slots[s]` is non-empty.
use super::entry::{EntryList, TimerShared};
use std::fmt;
use std::ptr::NonNull;

/// Slots per level.
pub(crate) const LEVEL_MULT: usize = 64;

/// One level; see the module documentation.
pub(crate) struct Level {
    level: usize,
    occupied: u64,
    slots: [EntryList; LEVEL_MULT],
}

/// A slot that comes up next, and the tick at which it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiration {
    /// The level of the slot.
    pub(crate) level: usize,
    /// The slot index in that level.
    pub(crate) slot: usize,
    /// The first tick the slot covers.
    pub(crate) deadline: u64,
}

impl Level {
    pub(crate) fn new(level: usize) -> Level {
        Level {
            level,
            occupied: 0,
            slots: std::array::from_fn(|_| EntryList::new()),
        }
    }

    /// The earliest occupied slot at or after `now` (the wheel's elapsed
    /// tick), with its start tick.
    pub(crate) fn next_expiration(&self, now: u64) -> Option<Expiration> {
        let slot = self.next_occupied_slot(now)?;
        let level_range = level_range(self.level);
        let slot_range = slot_range(self.level);
        let level_start = now & !(level_range - 1);
        let mut deadline = level_start + slot as u64 * slot_range;
        if deadline <= now {
            // Only the top level wraps: entries further away than the wheel
            // spans are filed in its slots modulo 64 and come up once per
            // rotation, to be re-filed until they are in range.
            debug_assert_eq!(self.level, super::wheel::NUM_LEVELS - 1);
            deadline += level_range;
        }
        Some(Expiration {
            level: self.level,
            slot,
            deadline,
        })
    }

    fn next_occupied_slot(&self, now: u64) -> Option<usize> {
        if self.occupied == 0 {
            return None;
        }
        // Search from the slot after the one `now` falls in, so that slot
        // itself comes last. Below the top level it is always empty (an
        // entry there would be filed at a lower level); at the top level it
        // holds only wrapped entries, due a whole rotation later, which must
        // not hide entries in the slots before them.
        let start = (now / slot_range(self.level) + 1) % LEVEL_MULT as u64;
        let rotated = self.occupied.rotate_right(start as u32);
        let zeros = rotated.trailing_zeros() as usize;
        Some((zeros + start as usize) % LEVEL_MULT)
    }

    /// Files `item` under its `cached_when`.
    ///
    /// # Safety
    /// `item` is a live, pinned entry in no list (wheel lock held).
    pub(crate) unsafe fn add_entry(&mut self, item: NonNull<TimerShared>) {
        // SAFETY: `item` is live (caller).
        let slot = slot_for(unsafe { item.as_ref() }.cached_when(), self.level);
        // SAFETY: `item` is live, pinned and in no list (caller).
        unsafe { self.slots[slot].push_front(item) };
        self.occupied |= occupied_bit(slot);
    }

    /// Unlinks `item`, filed in this level under its `cached_when`.
    ///
    /// # Safety
    /// `item` is a live entry filed in this level (wheel lock held).
    pub(crate) unsafe fn remove_entry(&mut self, item: NonNull<TimerShared>) {
        // SAFETY: `item` is live (caller).
        let slot = slot_for(unsafe { item.as_ref() }.cached_when(), self.level);
        // SAFETY: `item` is in this slot's list (caller).
        let removed = unsafe { self.slots[slot].remove(item) };
        debug_assert!(removed.is_some(), "entry not in the slot it is filed under");
        if self.slots[slot].is_empty() {
            self.occupied &= !occupied_bit(slot);
        }
    }

    /// Unlinks every entry of `slot`.
    pub(crate) fn take_slot(&mut self, slot: usize) -> EntryList {
        self.occupied &= !occupied_bit(slot);
        self.slots[slot].take()
    }

    /// Any occupied slot (for draining at shutdown).
    pub(crate) fn any_occupied_slot(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize)
    }
}

impl fmt::Debug for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Level")
            .field("level", &self.level)
            .field("occupied", &format_args!("{:#066b}", self.occupied))
            .finish()
    }
}

fn occupied_bit(slot: usize) -> u64 {
    1 << slot
}

/// Ticks covered by one slot of `level`.
pub(crate) fn slot_range(level: usize) -> u64 {
    (LEVEL_MULT as u64).pow(level as u32)
}

/// Ticks covered by all of `level`.
pub(crate) fn level_range(level: usize) -> u64 {
    LEVEL_MULT as u64 * slot_range(level)
}

/// The slot of `level` a tick falls in.
pub(crate) fn slot_for(tick: u64, level: usize) -> usize {
    ((tick >> (level * 6)) % LEVEL_MULT as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_slots() {
        assert_eq!(slot_range(0), 1);
        assert_eq!(level_range(0), 64);
        assert_eq!(slot_range(2), 4096);
        assert_eq!(slot_for(0, 0), 0);
        assert_eq!(slot_for(63, 0), 63);
        assert_eq!(slot_for(64, 0), 0);
        assert_eq!(slot_for(64, 1), 1);
        assert_eq!(slot_for(64 * 64 * 3 + 5, 2), 3);
    }

    #[test]
    fn next_expiration_wraps_to_next_rotation_only_when_behind() {
        let mut lvl = Level::new(1);
        lvl.occupied = occupied_bit(5);
        // now = 70 (slot 1 of level 1): slot 5 starts at tick 320.
        let e = lvl.next_expiration(70).unwrap();
        assert_eq!((e.slot, e.deadline), (5, 320));
        // The top level's current slot holds wrapped entries: it comes last.
        let mut top = Level::new(5);
        top.occupied = occupied_bit(0) | occupied_bit(2);
        let e = top.next_expiration(1 << 24).unwrap();
        assert_eq!((e.slot, e.deadline), (2, 2 << 30));
        top.occupied = occupied_bit(0);
        let e = top.next_expiration(1 << 24).unwrap();
        assert_eq!((e.slot, e.deadline), (0, 1 << 36));
        let empty = Level::new(0);
        assert_eq!(empty.next_expiration(0), None);
    }
}
