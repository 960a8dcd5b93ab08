//! The reactor's table of registrations: who keeps each [`ScheduledIo`]'s
//! memory alive, from allocation until no event can name it any more.
//!
//! # Design
//!
//! An entry's epoll token is its own address ([`ScheduledIo::token`]), so
//! the driver turns an event into an entry with no lookup and no lock. The
//! price is that the set must keep every entry allocated for as long as the
//! poll may still report it. Each entry is in exactly one place:
//!
//! - `live`: registered and owned; a slab, so shutdown can reach every
//!   entry and a release can find its own in O(1).
//! - `pending`: released after its `EPOLL_CTL_DEL` succeeded. A poll that
//!   begins after the `DEL` cannot report it, but one already running may
//!   have fetched an event for it. The driver frees these at the start of
//!   its next turn, when every event fetched before has been dispatched
//!   (Tokio releases its `ScheduledIo`s the same way).
//! - `retained`: released while the poll may still hold an entry for it:
//!   its `DEL` failed or never ran (a `Registration` dropped without
//!   deregistering, a deregistration in a forked child, which must leave
//!   the shared poll alone). Kept until the driver is dropped. This costs one small entry per such release; nothing the
//!   owner handed in is kept, since [`ScheduledIo::release`] drops the hook
//!   and the wakers at release time.
//! - An entry that never reached the poll (registration failed) is freed at
//!   once.
//!
//! Once the driver is dropped (`poll_closed`), nothing can report an entry
//! any more and releases free at once. The set is only touched under the
//! driver's mutex; it never wakes or drops anything itself (entries it lets
//! go are handed back to be dropped outside the lock).
use crate::io::scheduled_io::ScheduledIo;
use crate::loom::sync::Arc;
use std::io;

/// Pending releases after which the releasing thread unparks the driver,
/// so their memory does not wait for an idle driver's next event.
const PENDING_UNPARK: usize = 16;

/// How the poll's entry for a registration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PollEntry {
    /// It was never added (the registration failed).
    NeverAdded,
    /// `EPOLL_CTL_DEL` succeeded.
    Deleted,
    /// The `DEL` failed or was never attempted: it may still be there.
    MaybeLive,
}

/// The outcome of [`RegistrationSet::remove`].
#[must_use]
#[derive(Debug)]
pub(crate) enum Removed {
    /// No event can name the entry: the caller drops it (outside the lock).
    Free(Arc<ScheduledIo>),
    /// Freed at the driver's next turn; `unpark` asks the caller to wake
    /// the driver so that turn comes soon.
    Deferred { unpark: bool },
    /// Kept until the driver is dropped.
    Retained,
    /// Already released.
    NotPresent,
}

#[derive(Debug, Default)]
pub(crate) struct RegistrationSet {
    live: slab::Slab<Arc<ScheduledIo>>,
    pending: Vec<Arc<ScheduledIo>>,
    retained: Vec<Arc<ScheduledIo>>,
    is_shutdown: bool,
    poll_closed: bool,
}

impl RegistrationSet {
    /// Allocates an entry; fails once the driver has shut down.
    pub(crate) fn allocate(&mut self) -> io::Result<Arc<ScheduledIo>> {
        if self.is_shutdown {
            return Err(io::Error::other(
                "the runtime's I/O driver is shutting down",
            ));
        }
        let entry = self.live.vacant_entry();
        let io = Arc::new(ScheduledIo::new(entry.key()));
        entry.insert(io.clone());
        Ok(io)
    }

    /// Takes `io` out of the live entries and decides, from how its poll
    /// entry ended, who keeps its memory (see the module docs).
    pub(crate) fn remove(&mut self, io: &ScheduledIo, entry: PollEntry) -> Removed {
        let index = io.index();
        match self.live.get(index) {
            Some(cur) if std::ptr::eq(&**cur, io) => {}
            _ => return Removed::NotPresent,
        }
        let io = self.live.remove(index);
        if self.poll_closed {
            return Removed::Free(io);
        }
        match entry {
            PollEntry::NeverAdded => Removed::Free(io),
            PollEntry::Deleted => {
                self.pending.push(io);
                Removed::Deferred {
                    unpark: self.pending.len() == PENDING_UNPARK,
                }
            }
            PollEntry::MaybeLive => {
                self.retained.push(io);
                Removed::Retained
            }
        }
    }

    /// Driver side, at the start of a turn: moves the pending entries into
    /// `out` (to be dropped outside the lock).
    pub(crate) fn take_pending(&mut self, out: &mut Vec<Arc<ScheduledIo>>) {
        out.append(&mut self.pending);
    }

    /// The poll is gone: hands back every released entry, and frees later
    /// releases at once.
    pub(crate) fn close_poll(&mut self) -> Vec<Arc<ScheduledIo>> {
        self.poll_closed = true;
        let mut out = std::mem::take(&mut self.pending);
        out.append(&mut self.retained);
        out
    }

    /// Marks the set shut down and returns every live entry (to be woken).
    pub(crate) fn shutdown(&mut self) -> Vec<Arc<ScheduledIo>> {
        self.is_shutdown = true;
        self.live.iter().map(|(_, io)| io.clone()).collect()
    }

    /// Live (registered, not yet released) entries.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// Released entries whose memory is still kept (pending + retained).
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.pending.len() + self.retained.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_out_keeps_the_memory_as_long_as_it_must() {
        let mut set = RegistrationSet::default();
        let a = set.allocate().unwrap();
        let b = set.allocate().unwrap();
        let c = set.allocate().unwrap();
        assert_eq!(set.len(), 3);
        assert!(matches!(
            set.remove(&a, PollEntry::NeverAdded),
            Removed::Free(_)
        ));
        assert!(matches!(
            set.remove(&b, PollEntry::Deleted),
            Removed::Deferred { unpark: false }
        ));
        assert!(matches!(
            set.remove(&c, PollEntry::MaybeLive),
            Removed::Retained
        ));
        // Idempotent: a second release finds nothing.
        assert!(matches!(
            set.remove(&b, PollEntry::MaybeLive),
            Removed::NotPresent
        ));
        assert_eq!((set.len(), set.kept()), (0, 2));
        let mut out = Vec::new();
        set.take_pending(&mut out);
        assert_eq!(out.len(), 1);
        assert!(Arc::ptr_eq(&out[0], &b));
        assert_eq!(set.kept(), 1, "the retained entry outlives the turn");
        let rest = set.close_poll();
        assert_eq!(rest.len(), 1);
        assert!(Arc::ptr_eq(&rest[0], &c));
        let d = set.allocate().unwrap();
        assert!(matches!(
            set.remove(&d, PollEntry::MaybeLive),
            Removed::Free(_)
        ));
    }

    #[test]
    fn a_reused_slot_is_not_released_by_its_old_owner() {
        let mut set = RegistrationSet::default();
        let a = set.allocate().unwrap();
        assert!(matches!(
            set.remove(&a, PollEntry::NeverAdded),
            Removed::Free(_)
        ));
        let b = set.allocate().unwrap();
        assert_eq!(a.index(), b.index(), "slot reused");
        assert_ne!(a.token(), b.token(), "both are alive: distinct addresses");
        assert!(matches!(
            set.remove(&a, PollEntry::Deleted),
            Removed::NotPresent
        ));
        assert_eq!(set.len(), 1);
        assert_ne!(b.token(), mio::Token(usize::MAX));
    }

    #[test]
    fn pending_releases_ask_for_one_unpark() {
        let mut set = RegistrationSet::default();
        let unparks = (0..3 * PENDING_UNPARK)
            .map(|_| {
                let io = set.allocate().unwrap();
                set.remove(&io, PollEntry::Deleted)
            })
            .filter(|r| matches!(r, Removed::Deferred { unpark: true }))
            .count();
        assert_eq!(unparks, 1);
        let mut out = Vec::new();
        set.take_pending(&mut out);
        assert_eq!((out.len(), set.kept()), (3 * PENDING_UNPARK, 0));
    }

    #[test]
    fn churn_leaves_empty() {
        let mut set = RegistrationSet::default();
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let a = set.allocate().unwrap();
            let _ = set.remove(&a, PollEntry::Deleted);
            set.take_pending(&mut out);
            out.clear();
        }
        assert_eq!((set.len(), set.kept()), (0, 0));
        let _ = set.shutdown();
        assert!(set.allocate().is_err());
    }
}
