//! Unit tests driving the reactor directly through `Driver::park_timeout`.
use crate::io::context;
use crate::io::driver::Driver;
use crate::io::test_support::DriverThread;
use crate::io::AsyncFd;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn unpark_before_park_returns_at_once() {
    let (mut driver, handle) = Driver::new(0).unwrap();
    handle.unpark();
    handle.unpark(); // coalesced
    let start = Instant::now();
    driver.park_timeout(&handle, None); // would hang if the wake were lost
    assert!(handle.did_wake());
    assert!(!handle.did_wake());
    // The wake was consumed: a zero-timeout poll returns immediately and a
    // new unpark works again.
    driver.park_timeout(&handle, Some(Duration::ZERO));
    handle.unpark();
    driver.park_timeout(&handle, None);
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn unpark_from_other_thread_interrupts_poll() {
    let (mut driver, handle) = Driver::new(0).unwrap();
    let h = handle.clone();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        h.unpark();
    });
    driver.park_timeout(&handle, None);
    t.join().unwrap();
}

#[test]
fn timeout_elapses_without_events() {
    let (mut driver, handle) = Driver::new(0).unwrap();
    let start = Instant::now();
    driver.park_timeout(&handle, Some(Duration::from_millis(30)));
    assert!(start.elapsed() >= Duration::from_millis(25));
}

#[test]
fn async_fd_readable_on_socketpair() {
    let dt = DriverThread::start();
    let _g = context::enter(dt.handle.clone());
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let fd = AsyncFd::new(b).unwrap();
    assert_eq!(dt.handle.num_registrations(), 1);
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        a.write_all(b"hello").unwrap();
        a
    });
    let got = futures::executor::block_on(async {
        let mut buf = [0u8; 16];
        loop {
            let mut guard = fd.readable().await.unwrap();
            match guard.try_io(|f| f.get_ref().read(&mut buf)) {
                Ok(n) => break buf[..n.unwrap()].to_vec(),
                Err(_) => continue,
            }
        }
    });
    assert_eq!(got, b"hello");
    let _a = writer.join().unwrap();
    let inner = fd.into_inner();
    assert_eq!(dt.handle.num_registrations(), 0);
    drop(inner);
}

#[test]
fn shutdown_fails_pending_waiters_and_new_registrations() {
    let dt = DriverThread::start();
    let handle = dt.handle.clone();
    let _g = context::enter(handle.clone());
    let (_a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let fd = Arc::new(AsyncFd::new(b).unwrap());
    let fd2 = fd.clone();
    let waiter = thread::spawn(move || {
        futures::executor::block_on(async { fd2.readable().await.map(|_| ()) })
    });
    thread::sleep(Duration::from_millis(20));
    dt.shutdown();
    let res = waiter.join().unwrap();
    assert!(res.is_err(), "waiter must fail, not hang");
    let (_c, d) = UnixStream::pair().unwrap();
    assert!(AsyncFd::new(d).is_err());
    drop(fd);
    assert_eq!(handle.num_registrations(), 0);
}

#[test]
fn invalid_fd_and_no_runtime_are_errors() {
    struct Raw(i32);
    impl std::os::unix::io::AsRawFd for Raw {
        fn as_raw_fd(&self) -> i32 {
            self.0
        }
    }
    // Outside a runtime.
    assert!(AsyncFd::new(Raw(0)).is_err());
    let dt = DriverThread::start();
    let _g = context::enter(dt.handle.clone());
    assert!(AsyncFd::new(Raw(-1)).is_err());
    assert!(AsyncFd::new(Raw(1_000_000)).is_err());
    assert_eq!(dt.handle.num_registrations(), 0);
}

#[test]
fn churn_leaves_slab_empty() {
    let (_driver, handle) = Driver::new(0).unwrap();
    let _g = context::enter(handle.clone());
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let mut a = Some(a);
    for _ in 0..10_000 {
        let fd = AsyncFd::new(a.take().unwrap()).unwrap();
        a = Some(fd.into_inner());
    }
    assert_eq!(handle.num_registrations(), 0);
}

#[test]
fn unpark_is_never_lost_under_contention() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const PRODUCERS: usize = 4;
    const EACH: usize = 2_000;
    let (mut driver, handle) = Driver::new(0).unwrap();
    let published = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (h, p) = (handle.clone(), published.clone());
    let consumer = thread::spawn(move || {
        let mut seen = 0;
        while seen < PRODUCERS * EACH {
            let now = p.load(Ordering::SeqCst);
            if now == seen {
                // Nothing new: block with no timeout. A lost unpark would
                // hang here forever (caught by the watchdog below).
                driver.park_timeout(&h, None);
            }
            seen = now;
        }
        done_tx.send(()).unwrap();
    });
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (h, p) = (handle.clone(), published.clone());
            thread::spawn(move || {
                for _ in 0..EACH {
                    p.fetch_add(1, Ordering::SeqCst);
                    h.unpark();
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("an unpark was lost: the driver never woke up");
    consumer.join().unwrap();
}

/// Counts its drops; a hook holding one shows when the hook is dropped.
struct Dropped(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A hook that counts its calls and holds a [`Dropped`].
fn counting_hook(
    calls: &Arc<std::sync::atomic::AtomicUsize>,
    drops: &Arc<std::sync::atomic::AtomicUsize>,
) -> Box<crate::io::EventHook> {
    let (calls, guard) = (calls.clone(), Dropped(drops.clone()));
    Box::new(move |_| {
        let _ = &guard;
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    })
}

#[test]
fn a_deregistered_entry_lets_its_hook_go_at_once_and_its_memory_at_the_next_turn() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let (mut driver, handle) = Driver::new(0).unwrap();
    let _g = context::enter(handle.clone());
    let (_a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let fd = AsyncFd::new(b).unwrap();
    let (calls, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    assert!(fd.set_event_hook(counting_hook(&calls, &drops)).is_ok());
    let b = fd.into_inner();
    assert_eq!(drops.load(SeqCst), 1, "the hook goes with the registration");
    assert_eq!((handle.num_registrations(), handle.num_kept()), (0, 1));
    driver.park_timeout(&handle, Some(Duration::ZERO));
    assert_eq!(handle.num_kept(), 0, "freed when the next turn begins");
    assert_eq!(calls.load(SeqCst), 0);
    drop(b);
}

#[test]
fn an_entry_released_without_its_del_is_kept_and_its_late_event_reaches_nobody() {
    use crate::io::registration_set::PollEntry;
    use std::os::unix::io::AsRawFd;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let (mut driver, handle) = Driver::new(0).unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let fd = b.as_raw_fd();
    let io = handle
        .register(&mut mio::unix::SourceFd(&fd), crate::io::Interest::READABLE)
        .unwrap();
    let (calls, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    assert!(io.set_hook(counting_hook(&calls, &drops)).is_ok());
    // As a `Registration` dropped without deregistering: the poll still
    // holds the entry.
    handle.release(&io, PollEntry::MaybeLive);
    drop(io);
    assert_eq!(drops.load(SeqCst), 1, "the hook goes at release");
    assert_eq!((handle.num_registrations(), handle.num_kept()), (0, 1));
    a.write_all(b"x").unwrap();
    // The poll still reports the entry: this turn returns at once with its
    // event (it would sit out the timeout otherwise), which reaches the
    // kept memory and no hook.
    let start = Instant::now();
    driver.park_timeout(&handle, Some(Duration::from_secs(10)));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "no late event came"
    );
    assert_eq!(calls.load(SeqCst), 0);
    assert_eq!(handle.num_kept(), 1, "kept across turns");
    drop(driver);
    assert_eq!(handle.num_kept(), 0, "freed with the poll");
    drop(b);
}

#[test]
fn many_pending_releases_wake_an_idle_driver_to_free_them() {
    use std::os::fd::AsFd;
    let dt = DriverThread::start();
    let _g = context::enter(dt.handle.clone());
    // Read interest on sockets with nothing to read: no event ever turns
    // the driver, so only the releases' own unpark can free them.
    let pairs: Vec<_> = (0..16).map(|_| UnixStream::pair().unwrap()).collect();
    let fds: Vec<_> = pairs
        .iter()
        .map(|(_, b)| AsyncFd::with_interest(b.as_fd(), crate::io::Interest::READABLE).unwrap())
        .collect();
    for fd in fds {
        let _ = fd.into_inner();
    }
    // Up to 15 released entries may wait for the idle driver's next event
    // (memory only: their hooks and wakers are gone); the 16th wakes it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while dt.handle.num_kept() != 0 {
        assert!(
            Instant::now() < deadline,
            "the parked driver never freed them"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_hook_releasing_its_own_registration_mid_batch_is_safe() {
    use std::sync::Mutex;
    let (mut driver, handle) = Driver::new(0).unwrap();
    let _g = context::enter(handle.clone());
    let (mut a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let slot: Arc<Mutex<Option<AsyncFd<UnixStream>>>> = Arc::new(Mutex::new(None));
    let fd = AsyncFd::new(b).unwrap();
    let s = slot.clone();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = released.clone();
    assert!(fd
        .set_event_hook(Box::new(move |_| {
            // Deregisters (and so detaches this very hook) while it runs.
            if let Some(fd) = s.lock().unwrap().take() {
                drop(fd.into_inner());
                r.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            true
        }))
        .is_ok());
    *slot.lock().unwrap() = Some(fd);
    a.write_all(b"x").unwrap();
    driver.park_timeout(&handle, Some(Duration::from_secs(10)));
    assert!(released.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!((handle.num_registrations(), handle.num_kept()), (0, 1));
    driver.park_timeout(&handle, Some(Duration::ZERO));
    assert_eq!(handle.num_kept(), 0);
}
