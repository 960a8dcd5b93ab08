//! The reactor's table of live registrations: a slab of [`ScheduledIo`]
//! entries addressed by `mio::Token`.
//!
//! # Design
//!
//! A token packs the slab index (low `INDEX_BITS`) and a generation (the
//! bits above, never touching the top bit so no token equals the reserved
//! wake token `usize::MAX`). Every insertion takes a fresh generation from a
//! wrapping counter, so an event still in flight for a slot that was freed
//! and reused carries the old generation and is ignored by [`get`].
//!
//! Entries are removed as soon as their owner deregisters (no deferred
//! release), so N register/deregister cycles leave the table empty. The set
//! is only touched under the driver's mutex; it never wakes anything itself.
//!
//! [`get`]: RegistrationSet::get
use crate::io::scheduled_io::ScheduledIo;
use crate::loom::sync::Arc;
use std::io;

const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 24 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const GEN_BITS: u32 = usize::BITS - INDEX_BITS - 1;
const GEN_MASK: usize = (1 << GEN_BITS) - 1;

/// The outcome of [`RegistrationSet::remove`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The entry was in the set and is gone now.
    Released,
    /// Already released (or the slot now belongs to a newer registration).
    NotPresent,
}

#[derive(Debug, Default)]
pub(crate) struct RegistrationSet {
    slab: slab::Slab<Arc<ScheduledIo>>,
    next_gen: usize,
    is_shutdown: bool,
}

fn pack(index: usize, generation: usize) -> mio::Token {
    mio::Token((generation << INDEX_BITS) | index)
}

fn unpack(token: mio::Token) -> (usize, usize) {
    (token.0 & INDEX_MASK, (token.0 >> INDEX_BITS) & GEN_MASK)
}

impl RegistrationSet {
    /// Allocates an entry; fails once the driver has shut down.
    pub(crate) fn allocate(&mut self) -> io::Result<Arc<ScheduledIo>> {
        if self.is_shutdown {
            return Err(io::Error::other(
                "the runtime's I/O driver is shutting down",
            ));
        }
        let entry = self.slab.vacant_entry();
        let index = entry.key();
        if index > INDEX_MASK {
            return Err(io::Error::other("too many I/O registrations"));
        }
        let generation = self.next_gen & GEN_MASK;
        self.next_gen = self.next_gen.wrapping_add(1);
        let io = Arc::new(ScheduledIo::new(pack(index, generation)));
        entry.insert(io.clone());
        Ok(io)
    }

    /// The live entry for `token`, if its generation still matches.
    pub(crate) fn get(&self, token: mio::Token) -> Option<&Arc<ScheduledIo>> {
        let (index, _) = unpack(token);
        self.slab.get(index).filter(|io| io.token() == token)
    }

    /// Releases `io`'s slot if it still holds `io`.
    pub(crate) fn remove(&mut self, io: &ScheduledIo) -> Removed {
        let (index, _) = unpack(io.token());
        match self.slab.get(index) {
            Some(cur) if cur.token() == io.token() => {
                self.slab.remove(index);
                Removed::Released
            }
            _ => Removed::NotPresent,
        }
    }

    /// Marks the set shut down and returns every live entry (to be woken).
    pub(crate) fn shutdown(&mut self) -> Vec<Arc<ScheduledIo>> {
        self.is_shutdown = true;
        self.slab.iter().map(|(_, io)| io.clone()).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_token_is_ignored_after_reuse() {
        let mut set = RegistrationSet::default();
        let a = set.allocate().unwrap();
        let old = a.token();
        assert_eq!(set.remove(&a), Removed::Released);
        assert_eq!(set.remove(&a), Removed::NotPresent);
        let b = set.allocate().unwrap();
        assert_eq!(unpack(old).0, unpack(b.token()).0, "slot reused");
        assert!(set.get(old).is_none());
        assert!(set.get(b.token()).is_some());
        assert_ne!(b.token(), mio::Token(usize::MAX));
    }

    #[test]
    fn churn_leaves_empty() {
        let mut set = RegistrationSet::default();
        for _ in 0..10_000 {
            let a = set.allocate().unwrap();
            assert_eq!(set.remove(&a), Removed::Released);
        }
        assert_eq!(set.len(), 0);
        let _ = set.shutdown();
        assert!(set.allocate().is_err());
    }
}
