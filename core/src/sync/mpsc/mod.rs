//! Multi-producer, single-consumer channels: bounded ([`channel`]) and
//! unbounded ([`unbounded_channel`]).
//!
//! Messages from one sender arrive in the order sent. The queue underneath
//! is lock-free (a block-linked list, see `list`); the bounded flavour adds a
//! fair semaphore so senders wait FIFO while the buffer is full.
//!
//! Closing: when every sender is dropped, `recv` returns the buffered
//! messages and then `None`. When the receiver calls `close` (or is
//! dropped), sends fail from then on, and `recv` keeps returning what was
//! buffered (or sent through permits already reserved), then `None`.
mod bounded;
mod chan;
pub mod error;
pub(crate) mod list;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
