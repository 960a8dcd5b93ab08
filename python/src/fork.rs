//! Fork detection: the process generation kept by the core's reactor
//! (`runtime_core::io::__process_generation`, a `pthread_atfork` counter;
//! one atomic load). After `fork()` a runtime's threads do not exist in the
//! child, so every `Runtime` method first checks that it runs in the
//! process generation the runtime was created in.

/// Which process this is: equal only to values read in the same process
/// (never across a fork).
pub(crate) fn generation() -> u64 {
    runtime_core::io::__process_generation()
}
