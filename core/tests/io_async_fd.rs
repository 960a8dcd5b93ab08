//! `AsyncFd` on raw file descriptors: a pipe, an eventfd, and many tasks
//! waiting on the same fd.
use runtime_core::io::{AsyncFd, Interest};
use runtime_core::runtime::Builder;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }).unwrap();
    // SAFETY: pipe2 succeeded, so both fds are open and owned by us alone.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn write_fd(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[test]
fn pipe_round_trip_with_backpressure() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (r, w) = pipe();
        let r = AsyncFd::with_interest(r, Interest::READABLE).unwrap();
        let mut w = AsyncFd::with_interest(w, Interest::WRITABLE).unwrap();
        const TOTAL: usize = 1 << 20; // > the 64 KiB pipe buffer
        let reader = runtime_core::spawn(async move {
            let mut got = 0usize;
            let mut buf = vec![0u8; 8192];
            loop {
                let mut guard = r.readable().await.unwrap();
                match guard.try_io(|fd| read_fd(fd.as_raw_fd(), &mut buf)) {
                    Ok(Ok(0)) => return got,
                    Ok(Ok(n)) => {
                        assert!(buf[..n].iter().all(|&b| b == 0xAB));
                        got += n;
                    }
                    Ok(Err(e)) => panic!("read failed: {e}"),
                    Err(_would_block) => continue,
                }
            }
        });
        let chunk = vec![0xABu8; 16384];
        let mut sent = 0;
        while sent < TOTAL {
            let mut guard = w.writable_mut().await.unwrap();
            assert!(guard.ready().is_writable());
            match guard.try_io(|fd| write_fd(fd.as_raw_fd(), &chunk)) {
                Ok(Ok(n)) => sent += n,
                Ok(Err(e)) => panic!("write failed: {e}"),
                Err(_would_block) => continue,
            }
        }
        // Closing the write end gives the reader EOF.
        let w: OwnedFd = w.into_inner();
        drop(w);
        assert_eq!(reader.await.unwrap(), sent);
    });
}

#[test]
fn eventfd_wakes_every_waiting_task() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        // SAFETY: eventfd has no pointer arguments.
        let efd =
            check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) }).unwrap();
        // SAFETY: the fd was just created and is owned by nobody else.
        let efd = Arc::new(AsyncFd::new(unsafe { OwnedFd::from_raw_fd(efd) }).unwrap());
        let woken = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let efd = efd.clone();
                let woken = woken.clone();
                runtime_core::spawn(async move {
                    let guard = efd.readable().await.unwrap();
                    assert!(guard.ready().is_readable());
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for _ in 0..10 {
            runtime_core::task::yield_now().await;
        }
        assert_eq!(woken.load(Ordering::SeqCst), 0, "nothing written yet");
        write_fd(efd.as_raw_fd(), &1u64.to_ne_bytes()).unwrap();
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 8);

        // Consume the counter; after clear_ready the next wait blocks
        // until a new write, which then carries the new value.
        let mut buf = [0u8; 8];
        let mut guard = efd.readable().await.unwrap();
        assert_eq!(read_fd(efd.as_raw_fd(), &mut buf).unwrap(), 8);
        assert_eq!(u64::from_ne_bytes(buf), 1);
        assert_eq!(
            read_fd(efd.as_raw_fd(), &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        guard.clear_ready();
        let fd2 = efd.clone();
        let later = runtime_core::spawn(async move {
            let mut guard = fd2.readable().await.unwrap();
            let mut buf = [0u8; 8];
            let n = guard
                .try_io(|fd| read_fd(fd.as_raw_fd(), &mut buf))
                .expect("readable after the write")
                .unwrap();
            assert_eq!(n, 8);
            u64::from_ne_bytes(buf)
        });
        runtime_core::task::yield_now().await;
        write_fd(efd.as_raw_fd(), &41u64.to_ne_bytes()).unwrap();
        assert_eq!(later.await.unwrap(), 41);
    });
}

#[test]
fn registration_errors_are_io_errors() {
    struct Raw(RawFd);
    impl AsRawFd for Raw {
        fn as_raw_fd(&self) -> RawFd {
            self.0
        }
    }
    // Outside any runtime: an error, not a panic.
    let (r, _w) = pipe();
    let err = AsyncFd::try_new(r).unwrap_err();
    let (r, cause) = err.into_parts();
    assert!(r.as_raw_fd() >= 0, "the fd is handed back");
    assert!(!cause.to_string().is_empty());

    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert!(AsyncFd::new(Raw(-1)).is_err());
        assert!(AsyncFd::new(Raw(987_654)).is_err(), "closed fd");
        // A regular file cannot be polled with epoll.
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        assert!(AsyncFd::new(f).is_err());
    });
}

/// Each `AsyncFd` registers its own duplicate of the fd: the same fd may be
/// wrapped twice, and both are told of its readiness.
#[test]
fn the_same_fd_wrapped_twice_is_reported_to_both() {
    use runtime_core::time::{timeout, Duration};
    use std::os::fd::AsFd;
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (r, w) = pipe();
        let a = AsyncFd::with_interest(r, Interest::READABLE).unwrap();
        let b = AsyncFd::with_interest(a.get_ref().as_fd(), Interest::READABLE).unwrap();
        write_fd(w.as_raw_fd(), b"x").unwrap();
        for fd in [a.as_raw_fd(), b.as_raw_fd()] {
            assert_eq!(fd, a.get_ref().as_raw_fd(), "as_raw_fd is the wrapped fd");
        }
        let ga = timeout(Duration::from_secs(5), a.readable()).await;
        let gb = timeout(Duration::from_secs(5), b.readable()).await;
        assert!(ga.expect("a is told").unwrap().ready().is_readable());
        assert!(gb.expect("b is told").unwrap().ready().is_readable());
        drop(b);
        drop(a);
    });
}

/// Safe code may swap the wrapped fd (`get_mut`) for one that another
/// `AsyncFd` watches; dropping the first must still remove its own
/// registration, not the other's (whose events would stop, and the first
/// entry's memory would be freed while the poll still reported it).
#[test]
fn swapping_the_wrapped_fd_leaves_other_registrations_alone() {
    use runtime_core::time::{sleep, timeout, Duration};
    use std::os::fd::AsFd;
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (ra, wa) = pipe();
        let (rb, wb) = pipe();
        let fb = AsyncFd::with_interest(rb.as_fd(), Interest::READABLE).unwrap();
        let mut fa = AsyncFd::with_interest(ra.as_fd(), Interest::READABLE).unwrap();
        *fa.get_mut() = rb.as_fd();
        drop(fa);
        // The reactor turns (fa's memory may be let go), then fa's old
        // file becomes readable: its entry must be gone from the poll.
        sleep(Duration::from_millis(20)).await;
        write_fd(wa.as_raw_fd(), b"a").unwrap();
        sleep(Duration::from_millis(20)).await;
        write_fd(wb.as_raw_fd(), b"b").unwrap();
        let g = timeout(Duration::from_secs(5), fb.readable())
            .await
            .expect("fb's registration survived fa's drop")
            .unwrap();
        assert!(g.ready().is_readable());
        assert_eq!(runtime_core::io::__registration_count(), Some(1));
    });
}

/// A level-triggered registration reports a still-ready fd again after its
/// readiness was cleared (an edge-triggered one would wait for new data),
/// and stops reporting once the fd is drained.
#[test]
fn level_triggered_reports_again_until_drained() {
    use runtime_core::time::{timeout, Duration};
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (r, w) = pipe();
        let afd = AsyncFd::level_triggered(r, Interest::READABLE).unwrap();
        write_fd(w.as_raw_fd(), b"abc").unwrap();
        for _ in 0..3 {
            // Cleared, not read: the next reactor turn reports it again.
            let mut g = timeout(Duration::from_secs(5), afd.readable())
                .await
                .expect("a ready fd is reported again")
                .unwrap();
            assert!(g.ready().is_readable());
            g.clear_ready();
        }
        let mut buf = [0u8; 8];
        assert_eq!(read_fd(afd.as_raw_fd(), &mut buf).unwrap(), 3);
        let waited = timeout(Duration::from_millis(50), afd.readable()).await;
        assert!(waited.is_err(), "a drained fd is not reported");
        // Bad fds are errors, as for the edge-triggered constructor.
        assert!(AsyncFd::level_triggered(
            std::fs::File::open("/proc/self/exe").unwrap(),
            Interest::READABLE
        )
        .is_err());
    });
}

/// `with_registered_fd` watches the descriptor it is given (no duplicate
/// of its own): readiness is that descriptor's file, `registered_fd` is
/// that descriptor, and the wrapped value is only carried along.
#[test]
fn with_registered_fd_watches_the_given_descriptor() {
    use runtime_core::time::{timeout, Duration};
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (r, w) = pipe();
        let (other, _other_w) = pipe();
        let given = r.as_raw_fd();
        // The wrapped value is an unrelated pipe end: what is watched is `r`.
        let afd = AsyncFd::with_registered_fd(other, r, Interest::READABLE).unwrap();
        assert_eq!(afd.registered_fd().as_raw_fd(), given);
        write_fd(w.as_raw_fd(), b"x").unwrap();
        let g = timeout(Duration::from_secs(5), afd.readable())
            .await
            .expect("the given descriptor's readiness is reported")
            .unwrap();
        assert!(g.ready().is_readable());
        // Handed back, still open, and registrable again as it is.
        let (other, r) = afd.into_registered_fd();
        assert_eq!(r.as_raw_fd(), given);
        let afd =
            AsyncFd::level_triggered_with_registered_fd(other, r, Interest::READABLE).unwrap();
        let g = timeout(Duration::from_secs(5), afd.readable())
            .await
            .expect("the byte is still there, reported level-triggered")
            .unwrap();
        assert!(g.ready().is_readable());
    });
}

/// `AsyncFdReadyGuard::reported` + `AsyncFd::clear_reported`: clearing
/// the reported readiness after the guard is gone forgets it, but keeps an
/// event that arrived after the report.
#[test]
fn clear_reported_keeps_an_event_that_came_after_the_report() {
    use runtime_core::io::Ready;
    use std::time::Duration;
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (r, w) = pipe();
        let afd = AsyncFd::new(r).unwrap();
        let mut buf = [0u8; 16];

        write_fd(w.as_raw_fd(), b"a").unwrap();
        let reported = afd.readable().await.unwrap().reported();
        assert!(reported.ready().is_readable());
        assert_eq!(read_fd(afd.as_raw_fd(), &mut buf).unwrap(), 1);
        assert!(read_fd(afd.as_raw_fd(), &mut buf).is_err());
        // Nothing new: the clear forgets the readiness, and a wait blocks.
        afd.clear_reported(reported, Ready::READABLE);
        let waited = runtime_core::time::timeout(Duration::from_millis(50), afd.readable()).await;
        assert!(waited.is_err(), "readable after a clear with no new data");

        write_fd(w.as_raw_fd(), b"b").unwrap();
        let reported = afd.readable().await.unwrap().reported();
        assert_eq!(read_fd(afd.as_raw_fd(), &mut buf).unwrap(), 1);
        assert!(read_fd(afd.as_raw_fd(), &mut buf).is_err());
        // New data, and the reactor sees its event, before the clear.
        write_fd(w.as_raw_fd(), b"c").unwrap();
        runtime_core::time::sleep(Duration::from_millis(20)).await;
        afd.clear_reported(reported, Ready::READABLE);
        let waited = runtime_core::time::timeout(Duration::from_secs(5), afd.readable()).await;
        assert!(waited.is_ok(), "the later event was lost by the clear");
        assert_eq!(read_fd(afd.as_raw_fd(), &mut buf).unwrap(), 1);
    });
}
