//! `rt_config`: the configuration a C caller passes to `rt_runtime_new`,
//! its defaults (what `rt_config_init` writes), and its translation into a
//! core [`Builder`].
//!
//! Invariants: the struct's size and layout never change (new fields are
//! carved out of `reserved`, which must be zero, so a caller built against
//! an older header keeps working); a configuration is only read during
//! `rt_runtime_new`, and every bad value is refused with `RT_ERR_INVALID`
//! before any thread starts.
use super::{RT_FLAVOR_CURRENT_THREAD, RT_FLAVOR_MULTI_THREAD};
use crate::error::{Error, Result};
use runtime_core::runtime::{Builder, RuntimeFlavor};
use std::ffi::{c_char, CStr};
use std::time::Duration;

/// Runtime configuration. Always initialise with rt_config_init() and then
/// set the fields you need: new fields are carved out of `reserved`, so the
/// struct's size and layout never change.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct rt_config {
    /// Worker threads of the multi-thread flavor; 0 = one per CPU; at most
    /// 16384.
    pub worker_threads: u32,
    /// RT_FLAVOR_MULTI_THREAD (default) or RT_FLAVOR_CURRENT_THREAD.
    pub flavor: u32,
    /// Upper bound of the blocking pool (rt_spawn_blocking); 0 = default (512).
    pub max_blocking_threads: u32,
    /// Must be 0.
    pub reserved0: u32,
    /// How long an idle blocking thread lives, in ms; 0 = default (10 s).
    pub keep_alive_ms: u64,
    /// Name given to worker threads, copied during rt_runtime_new; NULL =
    /// default ("runtime-worker").
    pub thread_name: *const c_char,
    /// Must be all zero (future fields).
    pub reserved: [u64; 8],
}

/// What rt_config_init writes, and what a NULL configuration means.
pub(super) const DEFAULTS: rt_config = rt_config {
    worker_threads: 0,
    flavor: RT_FLAVOR_MULTI_THREAD,
    max_blocking_threads: 0,
    reserved0: 0,
    keep_alive_ms: 0,
    thread_name: std::ptr::null(),
    reserved: [0; 8],
};

/// The core builder (and flavor) that `*cfg` (NULL: the defaults)
/// describes, or `RT_ERR_INVALID` for a bad value.
///
/// # Safety
/// `cfg` must be NULL or a valid rt_config whose `thread_name` is NULL or
/// a NUL-terminated string.
pub(super) unsafe fn builder(cfg: *const rt_config) -> Result<(Builder, RuntimeFlavor)> {
    let c = if cfg.is_null() {
        DEFAULTS
    } else {
        // SAFETY: non-NULL and valid per the caller's contract.
        unsafe { *cfg }
    };
    if c.reserved0 != 0 || c.reserved.iter().any(|&r| r != 0) {
        return Err(Error::invalid(
            "reserved fields must be zero (initialise with rt_config_init)",
        ));
    }
    let (mut b, flavor) = match c.flavor {
        RT_FLAVOR_MULTI_THREAD => (Builder::new_multi_thread(), RuntimeFlavor::MultiThread),
        RT_FLAVOR_CURRENT_THREAD => (Builder::new_current_thread(), RuntimeFlavor::CurrentThread),
        f => return Err(Error::invalid(format!("unknown flavor {f}"))),
    };
    // The limit the header states.
    const _: () = assert!(runtime_core::runtime::MAX_WORKER_THREADS == 16_384);
    if c.worker_threads as usize > runtime_core::runtime::MAX_WORKER_THREADS {
        return Err(Error::invalid(format!(
            "worker_threads must be at most {}, not {}",
            runtime_core::runtime::MAX_WORKER_THREADS,
            c.worker_threads
        )));
    }
    if c.worker_threads != 0 {
        b.worker_threads(c.worker_threads as usize);
    }
    if c.max_blocking_threads != 0 {
        b.max_blocking_threads(c.max_blocking_threads as usize);
    }
    if c.keep_alive_ms != 0 {
        b.thread_keep_alive(Duration::from_millis(c.keep_alive_ms));
    }
    if !c.thread_name.is_null() {
        // SAFETY: a non-NULL thread_name is a NUL-terminated string per
        // the struct's contract.
        let name = unsafe { CStr::from_ptr(c.thread_name) }
            .to_str()
            .map_err(|_| Error::invalid("thread_name is not valid UTF-8"))?;
        b.thread_name(name.to_owned());
    }
    Ok((b, flavor))
}
