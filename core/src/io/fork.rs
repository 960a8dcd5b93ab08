//! Fork detection without a syscall: which process generation this is.
//!
//! After `fork()` the child shares the parent's epoll instance, but not
//! its heap, and none of its threads. The reactor's epoll tokens are heap
//! addresses (see `registration_set`), so a driver must never register or
//! dispatch in a process other than the one that created it: the other
//! process would read its own memory at the address of the first one's
//! entry. `getpid()` would tell, but it is a syscall (glibc no longer
//! caches it) and the driver asks on every turn. Instead a `pthread_atfork`
//! child handler bumps a counter: the generation changes in the child of
//! every fork, and reading it is one atomic load.
//!
//! Invariant: the handler is installed before any generation is handed
//! out, so a generation recorded before a fork always differs from the one
//! read in the child. If the handler cannot be installed, the process id
//! (shifted so it never equals a counter value) is used instead.
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

/// The error for a runtime used in a process it was not created in.
pub(crate) fn forked_error() -> std::io::Error {
    std::io::Error::other(
        "this runtime's I/O driver was created in another process (before a fork); \
         create a new runtime in this one",
    )
}
