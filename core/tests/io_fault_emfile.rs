//! Fault injection: the process runs out of file descriptors (EMFILE).
//!
//! The soft `RLIMIT_NOFILE` is lowered just above the highest fd in use and
//! the rest of the table is filled with `dup`s, so every call that needs a
//! new fd really gets EMFILE from the kernel. Checked, on both flavors:
//! - `Builder::build()` returns the OS error (never panics) with 0..=3 fds
//!   left, so each partial failure (epoll created, eventfd not, ...) is
//!   hit; whatever it created is closed again (fd count back to baseline);
//! - `TcpListener::bind`, `TcpStream::connect`, `UdpSocket::bind`,
//!   `UnixStream::pair`/`connect`, `UnixListener::bind`,
//!   `UnixDatagram::pair` return `Err(EMFILE)`;
//! - `AsyncFd::new` registers a duplicate of the fd, so it too returns
//!   `Err(EMFILE)` (handing the value back through `try_new`), while an
//!   `AsyncFd` made before the table filled keeps receiving events;
//! - `TcpListener::accept().await` and `UnixListener::accept().await` with
//!   a connection waiting return `Err(EMFILE)` (promptly, twice: they
//!   neither spin nor park forever), other tasks keep running, the
//!   connection stays in the backlog, and once fds are freed the next
//!   `accept` returns exactly that connection, which carries data;
//! - afterwards everything works again, and the fd and thread counts
//!   (`/proc/self/fd`, `/proc/self/task`) are back to where they started.
//!
//! One `#[test]` on purpose: the fd limit is process-wide, and other tests
//! running in parallel threads of this process would see it. Every wait is
//! under a generous `timeout` that only detects hangs.
use runtime_core::io::AsyncFd;
use runtime_core::net::{
    TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use runtime_core::runtime::{Builder, Runtime};
use runtime_core::time::timeout;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

const HANG: Duration = Duration::from_secs(30);

#[path = "support/fault.rs"]
mod fault;
use fault::{fds, threads, threads_settled, SoftLimit};

fn highest_fd() -> i32 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .parse::<i32>()
                .unwrap()
        })
        .max()
        .unwrap()
}

/// Fills the fd table (below the soft limit) with duplicates of `src`
/// until the kernel answers EMFILE; the table is then full.
fn exhaust(src: BorrowedFd<'_>) -> Vec<OwnedFd> {
    let mut fillers = Vec::new();
    loop {
        // SAFETY: `src` is an open fd; F_DUPFD_CLOEXEC creates a new one or fails.
        let fd = unsafe { libc::fcntl(src.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "dup failed with {e}");
            return fillers;
        }
        // SAFETY: `fd` was just created and nothing else owns it.
        fillers.push(unsafe { OwnedFd::from_raw_fd(fd) });
        assert!(
            fillers.len() < 100_000,
            "the lowered limit did not take effect"
        );
    }
}

fn assert_emfile<T>(what: &str, r: io::Result<T>) {
    match r {
        Ok(_) => panic!("{what} succeeded with the fd table full"),
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{what}: {e}"),
    }
}

/// A flavor's name and how to make its builder.
type Flavor = (&'static str, fn() -> Builder);

fn builders() -> [Flavor; 2] {
    [
        ("current_thread", Builder::new_current_thread),
        ("multi_thread", || {
            let mut b = Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }),
    ]
}

/// `build()` with `left` fds free: an error (EMFILE when none is left) or
/// a working runtime, never a panic, and nothing left behind once dropped.
fn build_with_fds_left(null: BorrowedFd<'_>, left: usize) {
    let (base_fds, base_threads) = (fds(), threads());
    for (name, new) in builders() {
        let mut fillers = exhaust(null);
        fillers.truncate(fillers.len().saturating_sub(left));
        let built = catch_unwind(AssertUnwindSafe(|| new().build()))
            .unwrap_or_else(|_| panic!("{name}: build() panicked with {left} fds left"));
        match built {
            Ok(rt) => {
                assert!(left > 0, "{name}: build() succeeded with no fd left");
                // It must be usable: the reactor, timers and (multi-thread)
                // the workers.
                let v = rt.block_on(async {
                    runtime_core::time::sleep(Duration::from_millis(1)).await;
                    runtime_core::spawn(async { 7 }).await.unwrap()
                });
                assert_eq!(v, 7);
                drop(rt);
                eprintln!("{name}: build() with {left} fds left: Ok");
            }
            Err(e) => {
                eprintln!("{name}: build() with {left} fds left: Err({e})");
                if left == 0 {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{name}: {e}");
                }
            }
        }
        drop(fillers);
        assert_eq!(
            fds(),
            base_fds,
            "{name}: fds leaked by build() with {left} left"
        );
        assert_eq!(
            threads_settled(base_threads),
            base_threads,
            "{name}: threads left by build() with {left} fds left"
        );
    }
}

fn unix_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rt-fault-{}-{tag}.sock", std::process::id()))
}

/// The net types and `accept` under EMFILE, on a runtime built beforehand.
fn net_under_emfile(name: &str, rt: &Runtime, null: BorrowedFd<'_>) {
    let path = unix_path(name);
    let _ = std::fs::remove_file(&path);
    let dpath = unix_path(&format!("{name}-dgram"));
    let _ = std::fs::remove_file(&dpath);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let unix_listener = UnixListener::bind(&path).unwrap();
        // A connection waiting in the listener's backlog.
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let client_addr = client.local_addr().unwrap();
        let mut unix_client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        // A socket pair the reactor must keep serving while the table is full.
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let afd = AsyncFd::new(a).unwrap();
        let (c, _d) = std::os::unix::net::UnixStream::pair().unwrap();

        let fillers = exhaust(null);

        assert_emfile("TcpListener::bind", TcpListener::bind("127.0.0.1:0").await);
        assert_emfile("TcpStream::connect", TcpStream::connect(addr).await);
        assert_emfile("UdpSocket::bind", UdpSocket::bind("127.0.0.1:0").await);
        assert_emfile("UnixStream::pair", UnixStream::pair());
        assert_emfile("UnixStream::connect", UnixStream::connect(&path).await);
        assert_emfile("UnixListener::bind", UnixListener::bind(&dpath));
        assert_emfile("UnixDatagram::pair", UnixDatagram::pair());
        assert_emfile("UnixDatagram::bind", UnixDatagram::bind(&dpath));

        // A registration needs one fd (its duplicate), and hands the value
        // back; the registration made before still gets its events.
        let (c, cause) = AsyncFd::try_new(c).unwrap_err().into_parts();
        assert_emfile("AsyncFd::try_new", Err::<(), _>(cause));
        assert!(c.as_raw_fd() >= 0);
        (&b).write_all(b"x").unwrap();
        let mut guard = timeout(HANG, afd.readable())
            .await
            .expect("readable hung")
            .unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(
            guard
                .try_io(|a| a.get_ref().read(&mut byte))
                .unwrap()
                .unwrap(),
            1
        );

        // accept: the connection is ready but cannot be given an fd.
        for _ in 0..2 {
            let r = timeout(HANG, listener.accept())
                .await
                .expect("accept hung under EMFILE");
            assert_emfile("TcpListener::accept", r);
        }
        for _ in 0..2 {
            let r = timeout(HANG, unix_listener.accept())
                .await
                .expect("unix accept hung under EMFILE");
            assert_emfile("UnixListener::accept", r);
        }
        // Another task keeps running meanwhile (the worker is not spinning
        // inside accept).
        let other = runtime_core::spawn(async { 5 });
        assert_eq!(
            timeout(HANG, other).await.expect("task starved").unwrap(),
            5
        );

        drop(fillers);

        // The connection survived in the backlog and is accepted now.
        let (server, peer) = timeout(HANG, listener.accept())
            .await
            .expect("accept hung after fds were freed")
            .unwrap();
        assert_eq!(peer, client_addr);
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        timeout(HANG, async {
            let mut got = 0;
            while got < 4 {
                server.readable().await.unwrap();
                match server.try_read(&mut buf[got..]) {
                    Ok(0) => panic!("unexpected EOF"),
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        })
        .await
        .expect("read hung");
        assert_eq!(&buf, b"ping");

        // Everything that failed works again.
        let l2 = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c2 = TcpStream::connect(l2.local_addr().unwrap()).await.unwrap();
        let (s2, _) = timeout(HANG, l2.accept())
            .await
            .expect("accept hung")
            .unwrap();
        drop((l2, c2, s2));
        drop(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        drop(UnixStream::pair().unwrap());
        // The waiting Unix connection is accepted now too.
        let (us, _) = timeout(HANG, unix_listener.accept())
            .await
            .expect("unix accept hung after fds were freed")
            .unwrap();
        unix_client.write_all(b"u").unwrap();
        let mut ub = [0u8; 1];
        timeout(HANG, async {
            loop {
                us.readable().await.unwrap();
                match us.try_read(&mut ub) {
                    Ok(n) => break assert_eq!(n, 1),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        })
        .await
        .expect("unix read hung");
        assert_eq!(&ub, b"u");
        drop((us, unix_client));
        let u = UnixStream::connect(&path).await.unwrap();
        let (us, _) = timeout(HANG, unix_listener.accept())
            .await
            .expect("unix accept hung")
            .unwrap();
        drop((u, us));
        drop(UnixDatagram::pair().unwrap());
        drop(UnixListener::bind(&dpath).unwrap());
        drop((afd, b, server, client, listener, unix_listener));
    });
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&dpath);
}

#[test]
fn emfile_surfaces_as_errors_and_the_process_recovers() {
    let null = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    let (base_fds, base_threads) = (fds(), threads());
    {
        let _limit = SoftLimit::lower(libc::RLIMIT_NOFILE, highest_fd() as u64 + 64);

        for left in 0..=3 {
            build_with_fds_left(null.as_fd(), left);
        }
        // The runtimes used below exist before the table fills up.
        for (name, new) in builders() {
            let rt = new().build().unwrap();
            net_under_emfile(name, &rt, null.as_fd());
            drop(rt);
            assert_eq!(fds(), base_fds, "{name}: fds leaked");
        }
        // And a runtime builds normally once fds are available again.
        for (_, new) in builders() {
            let rt = new().build().unwrap();
            assert_eq!(
                rt.block_on(async { runtime_core::spawn(async { 1 }).await.unwrap() }),
                1
            );
        }
    }
    assert_eq!(fds(), base_fds, "fds leaked");
    assert_eq!(
        threads_settled(base_threads),
        base_threads,
        "threads left behind"
    );
}
