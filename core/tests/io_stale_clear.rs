//! A readiness clear made long after its observation keeps readiness that
//! later events set. With 12-bit ticks, a clear made exactly 4,096 read
//! events after its observation matched the stale tick and removed the
//! newest event's readiness (a review found it; this is its reproducer).
use runtime_core::io::{AsyncFd, Interest};
use runtime_core::runtime::Builder;
use runtime_core::time::{timeout, Duration};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

fn drain(afd: &AsyncFd<UnixStream>) {
    let mut buf = [0u8; 4096];
    loop {
        match afd.get_ref().read(&mut buf) {
            Ok(0) => panic!("eof"),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Observes readiness, lets `extra` more read events through (the last one
/// leaves a byte unread), then clears the stale observation. Returns
/// whether the fd is still reported readable.
fn still_readable_after(extra: usize) -> bool {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let afd = AsyncFd::with_interest(b, Interest::READABLE).unwrap();
        let events = Arc::new(AtomicUsize::new(0));
        let e2 = events.clone();
        assert!(afd
            .set_event_hook(Box::new(move |r| {
                if r.is_readable() {
                    e2.fetch_add(1, SeqCst);
                }
                false // decline: stored as usual (and the tick bumped)
            }))
            .is_ok());
        a.write_all(b"x").unwrap();
        let mut guard = afd.readable().await.unwrap();
        let base = events.load(SeqCst);
        drain(&afd);
        while events.load(SeqCst) - base < extra {
            a.write_all(b"x").unwrap();
            let target = events.load(SeqCst) + 1;
            while events.load(SeqCst) < target {
                runtime_core::task::yield_now().await;
            }
            if events.load(SeqCst) - base < extra {
                drain(&afd);
            }
        }
        assert_eq!(events.load(SeqCst) - base, extra);
        // One byte is waiting, and the last event said so. The guard's
        // observation predates all `extra` events: its clear must keep it.
        guard.clear_ready();
        timeout(Duration::from_millis(200), afd.readable())
            .await
            .is_ok()
    })
}

#[test]
fn a_clear_after_4095_events_keeps_later_readiness() {
    assert!(still_readable_after(4095));
}

#[test]
fn a_clear_after_4096_events_keeps_later_readiness() {
    assert!(
        still_readable_after(4096),
        "a byte is waiting but readable() never completes: the stale clear removed a newer event"
    );
}
