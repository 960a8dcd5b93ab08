//! Status codes, the per-thread last-error message, and the one boundary
//! every `extern "C"` entry point goes through.
//!
//! # Invariants
//! - No panic ever unwinds into C: [`status`] and [`value`] run the body
//!   under `catch_unwind` and turn a panic into [`rt_status::RT_ERR_PANIC`].
//! - Every failure records a detailed message in this thread's last-error
//!   slot before returning; successes leave it untouched (like `errno`).
//! - Status numbers are explicit and never change once released; new codes
//!   are only ever appended.
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The result of every fallible call. The numbers are part of the ABI and
/// never change; new codes are only appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rt_status {
    /// Success.
    RT_OK = 0,
    /// A required pointer argument was NULL.
    RT_ERR_NULL = 1,
    /// An argument was invalid (unknown flag bits, wrong runtime flavor, a bad
    /// or already-watched fd, a task already joined, ...); see rt_last_error().
    RT_ERR_INVALID = 2,
    /// The runtime has been shut down; nothing new is accepted.
    RT_ERR_SHUTDOWN = 3,
    /// The task was aborted before it completed.
    RT_ERR_CANCELLED = 4,
    /// A panic inside the runtime (or inside a Rust task) was caught at the
    /// boundary; the call had no effect.
    RT_ERR_PANIC = 5,
    /// The timeout expired before the awaited event happened.
    RT_ERR_TIMEOUT = 6,
    /// An operating-system call failed; rt_last_error() has the errno text.
    RT_ERR_IO = 7,
    /// The call would block a runtime worker thread (joining or waiting from
    /// inside a callback or task), which could deadlock the runtime.
    RT_ERR_WOULD_DEADLOCK = 8,
}

/// A failure: the status to return and the detail for `rt_last_error()`.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) code: rt_status,
    pub(crate) msg: String,
}

impl Error {
    pub(crate) fn new(code: rt_status, msg: impl Into<String>) -> Error {
        Error {
            code,
            msg: msg.into(),
        }
    }
    pub(crate) fn null(what: &str) -> Error {
        Error::new(rt_status::RT_ERR_NULL, format!("`{what}` must not be NULL"))
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::new(rt_status::RT_ERR_INVALID, msg)
    }
    pub(crate) fn shutdown() -> Error {
        Error::new(rt_status::RT_ERR_SHUTDOWN, "the runtime has been shut down")
    }
    pub(crate) fn io(what: &str, e: std::io::Error) -> Error {
        Error::new(rt_status::RT_ERR_IO, format!("{what}: {e}"))
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `e` as this thread's last failure and returns its code.
pub(crate) fn record(fn_name: &str, e: Error) -> rt_status {
    let text = format!("{fn_name}: {}", e.msg).replace('\0', "\\0");
    let c = CString::new(text).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = c);
    e.code
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}

/// The boundary for entry points that return a status.
pub(crate) fn status(fn_name: &str, f: impl FnOnce() -> Result<()>) -> rt_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => rt_status::RT_OK,
        Ok(Err(e)) => record(fn_name, e),
        Err(p) => record(
            fn_name,
            Error::new(
                rt_status::RT_ERR_PANIC,
                format!("panicked: {}", panic_message(&*p)),
            ),
        ),
    }
}

/// The boundary for entry points that return a value: on failure the error
/// is recorded and `fallback` is returned.
pub(crate) fn value<T>(fn_name: &str, fallback: T, f: impl FnOnce() -> Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            record(fn_name, e);
            fallback
        }
        Err(p) => {
            record(
                fn_name,
                Error::new(
                    rt_status::RT_ERR_PANIC,
                    format!("panicked: {}", panic_message(&*p)),
                ),
            );
            fallback
        }
    }
}

/// Runs a destructor-like body (`*_free`, drop callbacks) without letting a
/// panic escape; a panic is recorded as this thread's last error.
pub(crate) fn quiet(fn_name: &str, f: impl FnOnce()) {
    value(fn_name, (), || {
        f();
        Ok(())
    })
}

/// Turns a possibly-NULL pointer into a reference.
///
/// # Safety
/// `p` must be NULL or point to a live `T` for the returned lifetime.
pub(crate) unsafe fn non_null<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: the caller guarantees `p` is NULL or valid for 'a.
    unsafe { p.as_ref() }.ok_or_else(|| Error::null(what))
}

/// Returns a static, NUL-terminated, English description of a status code.
///
/// Safe for any integer value: unknown values give "unknown status".
/// The returned string is static: never free it. Any thread.
#[no_mangle]
pub extern "C" fn rt_status_str(s: i32) -> *const c_char {
    let text: &'static CStr = match s {
        0 => c"ok",
        1 => c"a required pointer argument was NULL",
        2 => c"invalid argument",
        3 => c"the runtime has been shut down",
        4 => c"the task was cancelled",
        5 => c"a panic was caught at the C boundary",
        6 => c"timed out",
        7 => c"operating-system I/O error",
        8 => c"the call would block a runtime thread and could deadlock",
        _ => c"unknown status",
    };
    text.as_ptr()
}

/// Returns this thread's last failure in detail ("" if no call on this
/// thread has failed yet).
///
/// The message names the function that failed. Successful calls do not
/// clear it (like errno). The pointer is owned by the library and stays
/// valid until the next failing call on the same thread; copy it if you
/// need it longer. Never returns NULL.
#[no_mangle]
pub extern "C" fn rt_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// Returns the library version ("MAJOR.MINOR.PATCH"), a static string.
#[no_mangle]
pub extern "C" fn rt_version() -> *const c_char {
    const V: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version contains a NUL"),
        };
    V.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: rt_last_error never returns NULL and the string lives
        // until the next failure on this thread.
        unsafe { CStr::from_ptr(rt_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_rt_err_panic_with_its_message() {
        let st = status("rt_demo", || panic!("boom {}", 42));
        assert_eq!(st, rt_status::RT_ERR_PANIC);
        assert!(last().contains("rt_demo"));
        assert!(last().contains("boom 42"));
        let v = value("rt_demo2", 7, || -> Result<i32> { panic!("static") });
        assert_eq!(v, 7);
        assert!(last().contains("rt_demo2: panicked: static"));
    }

    #[test]
    fn successes_keep_the_last_failure() {
        assert_eq!(
            status("rt_fails", || Err(Error::invalid("bad thing"))),
            rt_status::RT_ERR_INVALID
        );
        assert_eq!(status("rt_ok", || Ok(())), rt_status::RT_OK);
        assert_eq!(last(), "rt_fails: bad thing");
    }

    #[test]
    fn messages_with_nul_bytes_are_kept_readable() {
        let _ = status("rt_nul", || Err(Error::invalid("a\0b")));
        assert_eq!(last(), "rt_nul: a\\0b");
    }

    #[test]
    fn status_strings_cover_every_code_and_any_integer() {
        for code in 0..=8 {
            // SAFETY: static NUL-terminated strings.
            let s = unsafe { CStr::from_ptr(rt_status_str(code)) };
            assert_ne!(s.to_str().unwrap(), "unknown status");
        }
        for code in [-1, 9, i32::MIN, i32::MAX] {
            // SAFETY: as above.
            let s = unsafe { CStr::from_ptr(rt_status_str(code)) };
            assert_eq!(s.to_str().unwrap(), "unknown status");
        }
    }
}
