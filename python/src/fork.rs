//! Fork detection without a syscall.
//!
//! After `fork()` a runtime's threads do not exist in the child, so every
//! `Runtime` method first checks that it runs in the process generation
//! the runtime was created in. `getpid()` would answer that, but it is a
//! syscall on every call (glibc no longer caches it) and sits on hot paths
//! such as `rt.sleep(0)`. Instead a `pthread_atfork` child handler bumps a
//! counter: the generation changes in the child of every fork, and reading
//! it is one atomic load.
//!
//! Invariant: the handler is installed before any generation is handed
//! out, so a generation recorded by a runtime always predates (and so
//! differs from) the one seen in any child forked afterwards. If the
//! handler cannot be installed, the process id is used instead.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the atfork handler is installed (decided once).
static INSTALLED: OnceLock<bool> = OnceLock::new();

extern "C" fn in_child() {
    // Async-signal-safe: one atomic add in the single thread of the child.
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Which process this is: equal only to values read in the same process
/// (never across a fork).
pub(crate) fn generation() -> u64 {
    let installed = *INSTALLED.get_or_init(|| {
        // SAFETY: registers a child handler that only touches an atomic;
        // it is a static function, valid for the life of the process.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) == 0 }
    });
    if installed {
        GENERATION.load(Ordering::Relaxed)
    } else {
        u64::from(std::process::id()) << 32
    }
}
