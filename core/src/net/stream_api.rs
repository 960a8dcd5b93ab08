//! The public surface that `TcpStream` and `UnixStream` share, written once.
//!
//! The two stream types, and their split halves, must stay distinct public
//! types (`tcp::OwnedReadHalf` is not `unix::OwnedReadHalf`), so what they
//! have in common is stamped out per type by [`stream_api!`]: the shared
//! inherent methods, the `AsyncRead`/`AsyncWrite`/`AsRawFd` impls, and the
//! borrowed and owned split halves with `reunite` and `ReuniteError`. Every
//! generated method forwards to the generic `net::stream_core::StreamCore`,
//! which holds the I/O logic. The invoking module writes the struct itself
//! (with a private field `core: StreamCore<socket>`), its constructors,
//! type-specific options and `Debug`.
//!
//! Invariants of the generated split halves:
//! - Borrowed halves (`ReadHalf`/`WriteHalf`) borrow the stream: they are
//!   usable concurrently without a lock because reads use only the reader
//!   waker slot and writes only the writer slot.
//! - Owned halves share one `Arc` of the stream. Dropping the write half
//!   shuts the write direction down (so the peer sees EOF when the writer
//!   task ends) unless it was forgotten (`forget`) or already shut down
//!   successfully (`shutdown`, `close`).
//! - `reunite` only accepts the half from the same split (`Arc::ptr_eq`);
//!   after dropping both halves the `Arc` is unique, so unwrapping it
//!   cannot fail.

/// `AsyncRead` for `$ty`, reading through the `StreamCore` that `$core`
/// names (with `$this` bound to `&Self`).
macro_rules! impl_async_read {
    ($ty:ty, |$this:ident| $core:expr) => {
        impl $crate::io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = &*self;
                $core.poll_read(cx, buf)
            }
        }
    };
}

/// `AsyncWrite` for `$ty`, writing through the `StreamCore` that `$core`
/// names (with `$this` bound to `&Self`); `poll_flush` is a no-op and
/// `poll_close` (documented by the optional attributes before `close:`)
/// returns `$close` (with `$this` bound to `&mut Self`).
macro_rules! impl_async_write {
    ($ty:ty, |$this:ident| core: $core:expr, $(#[$close_doc:meta])* close: $close:expr) => {
        impl $crate::io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = &*self;
                $core.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = &*self;
                $core.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            $(#[$close_doc])*
            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self.get_mut();
                ::std::task::Poll::Ready($close)
            }
        }
    };
}

/// `peer_addr`/`local_addr` forwarding to the stream at `self.$field`.
macro_rules! addr_methods {
    ($addr:ty, $field:tt) => {
        /// The remote address.
        pub fn peer_addr(&self) -> ::std::io::Result<$addr> {
            self.$field.peer_addr()
        }

        /// The local address.
        pub fn local_addr(&self) -> ::std::io::Result<$addr> {
            self.$field.local_addr()
        }
    };
}

/// The shared methods and trait impls of a stream type `$S` (a struct with
/// a field `core: StreamCore<$sock>`), plus its split halves, defined in the
/// invoking module. `$std` is the std stream type, `$addr` the address type.
macro_rules! stream_api {
    (stream: $S:ident, socket: $sock:ty, std: $std:ty, addr: $addr:ty $(,)?) => {
        impl $S {
            pub(crate) fn new(sys: $sock) -> ::std::io::Result<$S> {
                Ok($S {
                    core: $crate::net::stream_core::StreamCore::new(sys)?,
                })
            }

            /// Wraps a std stream (switched to non-blocking mode here). Fails
            /// outside a runtime.
            pub fn from_std(stream: $std) -> ::std::io::Result<$S> {
                stream.set_nonblocking(true)?;
                $S::new(<$sock>::from_std(stream))
            }

            /// Deregisters and returns a std stream (still non-blocking).
            pub fn into_std(self) -> ::std::io::Result<$std> {
                self.core.into_std()
            }

            /// The local address.
            pub fn local_addr(&self) -> ::std::io::Result<$addr> {
                self.core.sock().local_addr()
            }

            /// The remote address.
            pub fn peer_addr(&self) -> ::std::io::Result<$addr> {
                self.core.sock().peer_addr()
            }

            /// Takes the pending socket error (`SO_ERROR`), if any.
            pub fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>> {
                self.core.take_error()
            }

            /// Shuts the write half down (the peer reads EOF); reading still works.
            pub async fn shutdown(&mut self) -> ::std::io::Result<()> {
                self.core.shutdown_write()
            }

            /// Waits until any of `interest` is ready; several tasks may wait at
            /// once.
            pub async fn ready(
                &self,
                interest: $crate::io::Interest,
            ) -> ::std::io::Result<$crate::io::Ready> {
                self.core.ready(interest).await
            }

            /// Waits until the stream is readable (then use [`try_read`](Self::try_read)).
            pub async fn readable(&self) -> ::std::io::Result<()> {
                self.ready($crate::io::Interest::READABLE).await.map(drop)
            }

            /// Waits until the stream is writable (then use [`try_write`](Self::try_write)).
            pub async fn writable(&self) -> ::std::io::Result<()> {
                self.ready($crate::io::Interest::WRITABLE).await.map(drop)
            }

            /// Polls for read readiness (only the last task polling is woken).
            pub fn poll_read_ready(
                &self,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                self.core.poll_read_ready(cx)
            }

            /// Polls for write readiness (only the last task polling is woken).
            pub fn poll_write_ready(
                &self,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                self.core.poll_write_ready(cx)
            }

            /// Reads without waiting; `WouldBlock` if no data is available.
            pub fn try_read(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.core.try_read(buf)
            }

            #[doc = concat!("Vectored form of [`", stringify!($S), "::try_read`].")]
            pub fn try_read_vectored(
                &self,
                bufs: &mut [::std::io::IoSliceMut<'_>],
            ) -> ::std::io::Result<usize> {
                self.core.try_read_vectored(bufs)
            }

            /// Writes without waiting; `WouldBlock` if the send buffer is full.
            pub fn try_write(&self, buf: &[u8]) -> ::std::io::Result<usize> {
                self.core.try_write(buf)
            }

            #[doc = concat!("Vectored form of [`", stringify!($S), "::try_write`].")]
            pub fn try_write_vectored(
                &self,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::io::Result<usize> {
                self.core.try_write_vectored(bufs)
            }

            /// Runs `f` once if `interest` is ready (clearing readiness when it
            /// returns `WouldBlock`), for syscalls this type does not wrap.
            pub fn try_io<R>(
                &self,
                interest: $crate::io::Interest,
                f: impl FnOnce() -> ::std::io::Result<R>,
            ) -> ::std::io::Result<R> {
                self.core.try_io(interest, f)
            }

            /// Waits for `interest` and runs `f` until it stops returning
            /// `WouldBlock`.
            pub async fn async_io<R>(
                &self,
                interest: $crate::io::Interest,
                f: impl FnMut() -> ::std::io::Result<R>,
            ) -> ::std::io::Result<R> {
                self.core.async_io(interest, f).await
            }

            /// Splits into borrowed halves usable concurrently (e.g. in `join!`),
            /// without locking.
            ///
            /// Note: with [`AsyncReadExt`](crate::io::AsyncReadExt) in scope,
            /// `stream.split()` resolves to that trait's by-value, lock-based
            #[doc = concat!("`split`; write `", stringify!($S), "::split(&mut stream)` to get these halves.")]
            pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
                (ReadHalf(&*self), WriteHalf(&*self))
            }

            /// Splits into owned halves that can move to different tasks; dropping
            /// the write half shuts the write direction down. See
            /// [`OwnedReadHalf::reunite`].
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                let inner = ::std::sync::Arc::new(self);
                (
                    OwnedReadHalf {
                        inner: inner.clone(),
                    },
                    OwnedWriteHalf {
                        inner,
                        shutdown_on_drop: true,
                    },
                )
            }
        }

        $crate::net::stream_api::impl_async_read!($S, |s| s.core);
        $crate::net::stream_api::impl_async_write!(
            $S,
            |s| core: s.core,
            /// Shuts the write half down.
            close: s.core.shutdown_write()
        );

        impl ::std::os::unix::io::AsRawFd for $S {
            fn as_raw_fd(&self) -> ::std::os::unix::io::RawFd {
                self.core.as_raw_fd()
            }
        }

        $crate::net::stream_api::split_halves!(stream: $S, addr: $addr);
    };
}

/// The borrowed (`ReadHalf`/`WriteHalf`) and owned (`OwnedReadHalf`/
/// `OwnedWriteHalf`, `ReuniteError`) halves of stream type `$S`.
macro_rules! split_halves {
    (stream: $S:ident, addr: $addr:ty) => {
        #[doc = concat!("The read half of [`", stringify!($S), "::split`].")]
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $S);

        #[doc = concat!("The write half of [`", stringify!($S), "::split`]; `close()` shuts the write")]
        /// direction down.
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $S);

        #[doc = concat!("The read half of [`", stringify!($S), "::into_split`].")]
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: ::std::sync::Arc<$S>,
        }

        #[doc = concat!("The write half of [`", stringify!($S), "::into_split`].")]
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: ::std::sync::Arc<$S>,
            shutdown_on_drop: bool,
        }

        /// The halves given to [`OwnedReadHalf::reunite`] came from different
        /// streams; they are handed back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl ::std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl ::std::error::Error for ReuniteError {}

        impl ReadHalf<'_> {
            $crate::net::stream_api::addr_methods!($addr, 0);
        }

        impl WriteHalf<'_> {
            $crate::net::stream_api::addr_methods!($addr, 0);

            /// Shuts the write direction down.
            pub async fn shutdown(&mut self) -> ::std::io::Result<()> {
                self.0.core.shutdown_write()
            }
        }

        impl OwnedReadHalf {
            /// Puts the stream back together; fails if `other` came from another
            /// stream.
            pub fn reunite(self, other: OwnedWriteHalf) -> ::std::result::Result<$S, ReuniteError> {
                if !::std::sync::Arc::ptr_eq(&self.inner, &other.inner) {
                    return Err(ReuniteError(self, other));
                }
                let mut other = other;
                other.shutdown_on_drop = false;
                let inner = other.inner.clone();
                drop(other);
                drop(self);
                Ok(::std::sync::Arc::try_unwrap(inner).expect("both halves were just dropped"))
            }

            $crate::net::stream_api::addr_methods!($addr, inner);

            /// Waits until readable.
            pub async fn readable(&self) -> ::std::io::Result<()> {
                self.inner.readable().await
            }

            /// Reads without waiting.
            pub fn try_read(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.inner.try_read(buf)
            }
        }

        impl OwnedWriteHalf {
            /// Puts the stream back together (see [`OwnedReadHalf::reunite`]).
            pub fn reunite(self, other: OwnedReadHalf) -> ::std::result::Result<$S, ReuniteError> {
                other.reunite(self)
            }

            /// Drops the half without shutting the write direction down.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }

            /// Shuts the write direction down now.
            pub async fn shutdown(&mut self) -> ::std::io::Result<()> {
                self.shutdown_write()
            }

            /// Shuts the write direction down; once that worked, dropping the
            /// half does not do it again.
            fn shutdown_write(&mut self) -> ::std::io::Result<()> {
                let res = self.inner.core.shutdown_write();
                if res.is_ok() {
                    self.shutdown_on_drop = false;
                }
                res
            }

            $crate::net::stream_api::addr_methods!($addr, inner);

            /// Waits until writable.
            pub async fn writable(&self) -> ::std::io::Result<()> {
                self.inner.writable().await
            }

            /// Writes without waiting.
            pub fn try_write(&self, buf: &[u8]) -> ::std::io::Result<usize> {
                self.inner.try_write(buf)
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    let _ = self.inner.core.shutdown_write();
                }
            }
        }

        $crate::net::stream_api::impl_async_read!(ReadHalf<'_>, |h| h.0.core);
        $crate::net::stream_api::impl_async_read!(OwnedReadHalf, |h| h.inner.core);
        $crate::net::stream_api::impl_async_write!(
            WriteHalf<'_>,
            |h| core: h.0.core,
            close: h.0.core.shutdown_write()
        );
        $crate::net::stream_api::impl_async_write!(
            OwnedWriteHalf,
            |h| core: h.inner.core,
            close: h.shutdown_write()
        );
    };
}

pub(crate) use {addr_methods, impl_async_read, impl_async_write, split_halves, stream_api};
