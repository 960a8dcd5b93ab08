//! [`Ready`]: the readiness a registration has observed.
//!
//! The reactor stores these bits in each registration's state word (see
//! `scheduled_io`); `READ_CLOSED` and `WRITE_CLOSED` are final: once set,
//! clearing readiness never removes them.
use crate::io::Interest;
use std::fmt;
use std::ops;

const READABLE: u8 = 0b00_0001;
const WRITABLE: u8 = 0b00_0010;
const READ_CLOSED: u8 = 0b00_0100;
const WRITE_CLOSED: u8 = 0b00_1000;
const PRIORITY: u8 = 0b01_0000;
const ERROR: u8 = 0b10_0000;

/// A set of readiness events.
///
/// ```
/// use runtime_core::io::Ready;
/// let r = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(r.is_readable() && r.is_read_closed() && !r.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// Readable.
    pub const READABLE: Ready = Ready(READABLE);
    /// Writable.
    pub const WRITABLE: Ready = Ready(WRITABLE);
    /// The read half is closed (EOF / hang-up).
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);
    /// The write half is closed.
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);
    /// Priority data is available.
    pub const PRIORITY: Ready = Ready(PRIORITY);
    /// An error is pending on the resource.
    pub const ERROR: Ready = Ready(ERROR);
    /// Every readiness bit.
    pub const ALL: Ready =
        Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | PRIORITY | ERROR);

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether `READABLE` is set.
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }
    /// Whether `WRITABLE` is set.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }
    /// Whether `READ_CLOSED` is set.
    pub const fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }
    /// Whether `WRITE_CLOSED` is set.
    pub const fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }
    /// Whether `PRIORITY` is set.
    pub const fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }
    /// Whether `ERROR` is set.
    pub const fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }

    pub(crate) const fn union(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }

    pub(crate) const fn from_bits(bits: u8) -> Ready {
        Ready(bits & Ready::ALL.0)
    }

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }

    /// The bits that wake a waiter with `interest`. A pending error wakes
    /// every direction, so the waiter's next syscall reports it.
    pub(crate) fn from_interest(interest: Interest) -> Ready {
        let mut r = Ready::ERROR;
        if interest.is_readable() {
            r |= Ready::READABLE | Ready::READ_CLOSED;
        }
        if interest.is_writable() {
            r |= Ready::WRITABLE | Ready::WRITE_CLOSED;
        }
        if interest.is_priority() {
            r |= Ready::PRIORITY | Ready::READ_CLOSED;
        }
        r
    }

    pub(crate) fn from_mio(event: &mio::event::Event) -> Ready {
        let mut r = Ready::EMPTY;
        if event.is_readable() {
            r |= Ready::READABLE;
        }
        if event.is_writable() {
            r |= Ready::WRITABLE;
        }
        if event.is_read_closed() {
            r |= Ready::READ_CLOSED;
        }
        if event.is_write_closed() {
            r |= Ready::WRITE_CLOSED;
        }
        if event.is_priority() {
            r |= Ready::PRIORITY;
        }
        if event.is_error() {
            r |= Ready::ERROR;
        }
        r
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .field("is_priority", &self.is_priority())
            .field("is_error", &self.is_error())
            .finish()
    }
}
