//! Helpers shared by the fault-injection tests (`io_fault_emfile.rs`,
//! `rt_fault_threads.rs`), included with `#[path]`: counting this
//! process's fds and threads in `/proc`, and lowering a soft resource limit
//! for the lifetime of a guard.
#![allow(dead_code)]

/// Entries in a `/proc/self/...` directory.
pub fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).unwrap().count()
}

/// Open fds of this process.
pub fn fds() -> usize {
    count_dir("/proc/self/fd")
}

/// Threads of this process.
pub fn threads() -> usize {
    count_dir("/proc/self/task")
}

/// Lowers the soft limit of a resource (`RLIMIT_NOFILE`, `RLIMIT_AS`...);
/// restores the old limits on drop.
pub struct SoftLimit {
    resource: libc::__rlimit_resource_t,
    old: libc::rlimit,
}

impl SoftLimit {
    pub fn lower(resource: libc::__rlimit_resource_t, soft: u64) -> SoftLimit {
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is a valid, writable rlimit.
        assert_eq!(unsafe { libc::getrlimit(resource, &mut old) }, 0);
        assert!(soft <= old.rlim_cur, "only lowers the limit");
        let new = libc::rlimit {
            rlim_cur: soft,
            rlim_max: old.rlim_max,
        };
        // SAFETY: `new` is a valid rlimit; lowering the soft limit is allowed.
        assert_eq!(unsafe { libc::setrlimit(resource, &new) }, 0);
        SoftLimit { resource, old }
    }
}

impl Drop for SoftLimit {
    fn drop(&mut self) {
        // SAFETY: restores limits read by getrlimit (soft <= hard, hard
        // unchanged), which is always permitted.
        let rc = unsafe { libc::setrlimit(self.resource, &self.old) };
        assert_eq!(rc, 0, "restoring a resource limit");
    }
}

/// Threads of this process once it has settled: a thread whose join (or
/// the runtime's wait for it) has returned can still be listed in
/// `/proc/self/task` for a moment while the kernel finishes its exit, so
/// this waits (up to 10 s) for the count to come down to `expected`, then
/// returns whatever it is.
pub fn threads_settled(expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = threads();
        if n <= expected || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
