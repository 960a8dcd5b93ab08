//! [`PollEvented`]: a `mio` source owned together with its [`Registration`].
//!
//! Invariant: while a `PollEvented` holds its source, the source is
//! registered; dropping it (or [`PollEvented::into_inner`]) deregisters the
//! source from the poll *before* the source is closed, and releases the
//! reactor's entry. The source is private (no `&mut` access to it leaves
//! this module's users), so its fd cannot change or be closed while
//! registered: the `EPOLL_CTL_DEL` removes exactly this entry, which the
//! reactor's address tokens rely on (see `registration_set`).
use crate::io::registration::Registration;
use crate::io::Interest;
use std::io::{self, Read};
use std::ops::Deref;
use std::task::{Context, Poll};

/// A registered `mio` source.
#[derive(Debug)]
pub(crate) struct PollEvented<E: mio::event::Source> {
    io: Option<E>,
    registration: Registration,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` with the current runtime for `interest`.
    pub(crate) fn new_with_interest(mut io: E, interest: Interest) -> io::Result<Self> {
        let registration = Registration::new(&mut io, interest)?;
        Ok(PollEvented {
            io: Some(io),
            registration,
        })
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Deregisters and hands the source back.
    pub(crate) fn into_inner(mut self) -> io::Result<E> {
        let mut io = self.io.take().expect("source present until drop");
        self.registration.deregister(&mut io)?;
        Ok(io)
    }

    /// Reads with the edge-triggered loop. With `short_read_drains` (TCP),
    /// a short read means the receive queue was drained, so readiness is
    /// cleared at once (saving a `WouldBlock` syscall) — unless urgent data
    /// was signalled (`PRIORITY`, registered for TCP): a read stops at the
    /// urgent mark with ordinary data still queued behind it, and no new
    /// event would come for that data. Unix-domain streams pass `false`: a
    /// read also stops after a message that carried fds (or credentials),
    /// with the next one still queued.
    pub(crate) fn poll_read<'a>(
        &'a self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        short_read_drains: bool,
    ) -> Poll<io::Result<usize>>
    where
        &'a E: Read,
    {
        loop {
            let ev = std::task::ready!(self.registration.poll_read_ready(cx))?;
            let mut io: &'a E = self.io.as_ref().expect("source present until drop");
            match io.read(buf) {
                Ok(n) => {
                    if short_read_drains
                        && n > 0
                        && n < buf.len()
                        && !self.registration.priority_pending()
                    {
                        self.registration.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.clear_readiness(ev)
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Writes with the edge-triggered loop (`f` performs the write).
    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_ref().expect("source present until drop");
        self.registration.poll_write_io(cx, || f(io))
    }

    /// Reads with the edge-triggered loop (`f` performs the read).
    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_ref().expect("source present until drop");
        self.registration.poll_read_io(cx, || f(io))
    }
}

impl<E: mio::event::Source> Deref for PollEvented<E> {
    type Target = E;
    fn deref(&self) -> &E {
        self.io.as_ref().expect("source present until drop")
    }
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Deregister before `io` closes its fd; errors are irrelevant
            // here (the fd is about to be closed anyway).
            let _ = self.registration.deregister(&mut io);
        }
    }
}
