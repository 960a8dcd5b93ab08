//! [`Interest`]: which readiness events a registration asks the reactor for.
//!
//! Invariant: an `Interest` is never empty; constructors only produce
//! non-empty sets and `|` can only add bits.
use std::fmt;
use std::ops;

const READABLE: u8 = 0b001;
const WRITABLE: u8 = 0b010;
const PRIORITY: u8 = 0b100;

/// The readiness events an I/O resource is registered for.
///
/// Combine with `|`:
///
/// ```
/// use runtime_core::io::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Interest in the resource becoming readable (or its read side closing).
    pub const READABLE: Interest = Interest(READABLE);
    /// Interest in the resource becoming writable (or its write side closing).
    pub const WRITABLE: Interest = Interest(WRITABLE);
    /// Both directions: what sockets without urgent data register for.
    pub(crate) const READ_WRITE: Interest = Interest(READABLE | WRITABLE);
    /// Interest in priority (out-of-band) data, `EPOLLPRI` on Linux.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const PRIORITY: Interest = Interest(PRIORITY);

    /// Whether the interest includes readability.
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Whether the interest includes writability.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// Whether the interest includes priority readiness.
    pub const fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }

    /// Adds `other` to this interest (the `const` form of `|`).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// Whether the two sets share an event.
    pub(crate) const fn intersects(self, other: Interest) -> bool {
        self.0 & other.0 != 0
    }

    /// Refuses (`InvalidInput`) a `ready`/`try_io` interest none of whose
    /// events the registration (`registered`) reports: waiting for it would
    /// never end (`PRIORITY` alone on a socket registered without it).
    pub(crate) fn check_registered(self, registered: Interest) -> std::io::Result<()> {
        if self.intersects(registered) {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("this socket is not registered for {self:?} (only for {registered:?})"),
            ))
        }
    }

    /// The same set as the `mio` interest the reactor registers with.
    pub(crate) fn to_mio(self) -> mio::Interest {
        let mut out: Option<mio::Interest> = None;
        let mut push = |i: mio::Interest| {
            out = Some(match out {
                Some(o) => o | i,
                None => i,
            })
        };
        if self.is_readable() {
            push(mio::Interest::READABLE);
        }
        if self.is_writable() {
            push(mio::Interest::WRITABLE);
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.is_priority() {
            push(mio::Interest::PRIORITY);
        }
        // Non-empty by construction (see the module invariant).
        out.unwrap_or(mio::Interest::READABLE)
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = false;
        for (bit, name) in [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (PRIORITY, "PRIORITY"),
        ] {
            if self.0 & bit != 0 {
                if sep {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                sep = true;
            }
        }
        Ok(())
    }
}
