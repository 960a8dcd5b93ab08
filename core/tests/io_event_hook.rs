//! `AsyncFd::set_event_hook`: the driver hands each event to the hook on
//! the thread turning it; a consumed event clears its readiness and wakes
//! no task, a declined one wakes waiters as usual; one hook per `AsyncFd`,
//! dropped with it; a shutdown bypasses the hook.
use runtime_core::io::{AsyncFd, Interest, Ready};
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::{sleep, timeout};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both fds are open and owned by us alone.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn write_byte(fd: RawFd) {
    // SAFETY: a one-byte buffer valid for reads.
    assert_eq!(unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) }, 1);
}

/// Reads until the pipe is empty; returns how many bytes it read.
fn drain(fd: RawFd) -> usize {
    let mut buf = [0u8; 64];
    let mut total = 0;
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return total;
        }
        total += n as usize;
    }
}

/// What a test hook saw.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    bytes: AtomicUsize,
    threads: Mutex<Vec<ThreadId>>,
    /// When false the hook declines (returns false) without reading.
    consume: AtomicBool,
}

fn hook(seen: &Arc<Seen>, fd: RawFd) -> Box<runtime_core::io::EventHook> {
    let seen = seen.clone();
    Box::new(move |ready: Ready| {
        assert!(ready.is_readable());
        seen.calls.fetch_add(1, SeqCst);
        seen.threads.lock().unwrap().push(thread::current().id());
        if !seen.consume.load(SeqCst) {
            return false;
        }
        seen.bytes.fetch_add(drain(fd), SeqCst);
        true
    })
}

/// A pipe whose read end is registered on `rt`, level-triggered, with the
/// test hook installed (consuming events or not); also returns the write
/// end and what the hook sees.
fn hooked_pipe(rt: &Runtime, consume: bool) -> (AsyncFd<OwnedFd>, OwnedFd, Arc<Seen>) {
    let (r, w) = pipe();
    let afd = rt
        .block_on(async { AsyncFd::level_triggered(r, Interest::READABLE) })
        .unwrap();
    let seen = Arc::new(Seen::default());
    seen.consume.store(consume, SeqCst);
    assert!(afd.set_event_hook(hook(&seen, afd.as_raw_fd())).is_ok());
    (afd, w, seen)
}

#[test]
fn consumed_events_run_on_the_driving_thread_and_wake_nobody() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (afd, w, seen) = hooked_pipe(&rt, true);
    // A second hook is refused and handed back.
    assert!(afd.set_event_hook(Box::new(|_| true)).is_err());
    rt.block_on(async {
        for i in 1..=20 {
            write_byte(w.as_raw_fd());
            // A task waiting for readability is never woken: the hook
            // consumes every event (and drains the pipe).
            let waited = timeout(Duration::from_millis(20), afd.readable()).await;
            assert!(waited.is_err(), "task woken for a consumed event ({i})");
            assert_eq!(seen.calls.load(SeqCst), i);
            assert_eq!(seen.bytes.load(SeqCst), i);
        }
    });
    let me = thread::current().id();
    assert!(seen.threads.lock().unwrap().iter().all(|t| *t == me));
}

#[test]
fn declined_events_wake_the_waiting_task() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (afd, w, seen) = hooked_pipe(&rt, false);
    let rfd = afd.as_raw_fd();
    rt.block_on(async {
        write_byte(w.as_raw_fd());
        let mut guard = timeout(Duration::from_secs(5), afd.readable())
            .await
            .expect("a declined event wakes the task")
            .unwrap();
        assert!(seen.calls.load(SeqCst) >= 1);
        assert_eq!(drain(rfd), 1);
        guard.clear_ready();
        // Then consuming: the task waits again and is not woken.
        seen.consume.store(true, SeqCst);
        write_byte(w.as_raw_fd());
        assert!(timeout(Duration::from_millis(30), afd.readable())
            .await
            .is_err());
        assert_eq!(seen.bytes.load(SeqCst), 1);
    });
}

#[test]
fn the_hook_is_dropped_with_its_registration() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (r, _w) = pipe();
    let seen = Arc::new(Seen::default());
    rt.block_on(async {
        let afd = AsyncFd::level_triggered(r, Interest::READABLE).unwrap();
        let fd = afd.as_raw_fd();
        afd.set_event_hook(hook(&seen, fd)).ok().unwrap();
        assert_eq!(Arc::strong_count(&seen), 2);
        drop(afd);
        // The driver may hold the registration until its next turn.
        sleep(Duration::from_millis(5)).await;
    });
    assert_eq!(Arc::strong_count(&seen), 1);
}

#[test]
fn shutdown_bypasses_the_hook_and_fails_waiters() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (afd, _w, seen) = hooked_pipe(&rt, true);
    drop(rt);
    // The driver is gone: a wait fails at once instead of hanging, and
    // the hook saw nothing.
    let other = Builder::new_current_thread().build().unwrap();
    let err = other
        .block_on(async { timeout(Duration::from_secs(5), afd.readable()).await })
        .expect("the wait fails at once, it does not hang")
        .err();
    assert!(err.is_some());
    assert_eq!(seen.calls.load(SeqCst), 0);
}
