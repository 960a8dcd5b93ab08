//! Dropping Python references on threads that do not hold the GIL, so that
//! `fork()` never copies PyO3's reference pool locked.
//!
//! PyO3 cannot decrement a reference count without the GIL: a `Py` dropped
//! off the GIL is pushed onto its reference pool, a `Vec` behind a mutex,
//! and the next PyO3 call that takes the GIL (in any thread) drains the
//! pool under that mutex. `fork()` copies only the forking thread. If a
//! runtime thread held the pool's mutex at that instant, the child's copy
//! stays locked for ever, and the child hangs at its first call into this
//! module (its `os.register_at_fork` handler already makes one). A runtime
//! thread drops references off the GIL all the time: the result of a task
//! nobody awaits, everything a shutdown cancels. (Timer and fd-watcher
//! callbacks are the exception: they are dropped with the GIL, see
//! `crate::callbacks`.)
//!
//! # Design
//! Values that hold Python references and may be dropped by a runtime
//! thread are wrapped in [`Refs`] (or handed to [`release`]). Dropped
//! without the GIL, they are dropped inside a *section* of a gate that a
//! `pthread_atfork` handler closes around every fork:
//!
//! - `GATE` counts the sections in progress (low half) and the forks in
//!   progress (high half).
//! - A section waits while a fork is in progress, then counts itself in;
//!   it counts itself out when its drop is done. Sections nest per thread
//!   (`DEPTH`): only the outermost one counts, so a drop inside a drop
//!   never waits for a fork that waits for it.
//! - `prepare` (the forking thread, inside `fork()`) counts the fork in and
//!   waits until no section is in progress. `parent` counts it out. In the
//!   `child` there is one thread and no section: the gate is reset.
//!
//! Invariant: while `fork()` copies the process, no thread is inside a
//! section, so no thread holds PyO3's pool mutex on behalf of this module.
//!
//! Why the wait always ends: a section only runs drops that take no GIL.
//! With the GIL not held, dropping a reference never runs Python code (it
//! is queued), so a section never waits for the GIL, which the forking
//! thread usually holds. Drops with the GIL held run at once, outside the
//! gate: they may run `__del__`, which may release the GIL or fork.
//! Values handed to the gate must not take the GIL in their own `Drop`
//! (`CancelOnDrop` does, so it is never wrapped).
//!
//! Not covered: references dropped off the GIL elsewhere (by PyO3 itself,
//! or by another extension, which has its own pool); processes with
//! subinterpreters (CPython then turns `PyGILState_Check` off, it answers
//! "held" everywhere, and every drop bypasses the gate as before this
//! module); objects made before the fork whose own locks a runtime thread
//! held at that instant (`Task`, `TimerHandle`: their locks are per
//! object, so only those objects are affected, never a fresh runtime).
use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

/// Sections in progress (low 32 bits) and forks in progress (high 32).
static GATE: AtomicU64 = AtomicU64::new(0);
const SECTION: u64 = 1;
const SECTIONS: u64 = (1 << 32) - 1;
const FORK: u64 = 1 << 32;

thread_local! {
    /// Sections this thread is inside (only the outermost is counted).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// A value holding Python references, dropped through [`release`]; derefs
/// to the value (shared access only: a `&mut` would let a caller replace,
/// and so drop, the value outside the gate).
pub(crate) struct Refs<T>(ManuallyDrop<T>);

impl<T> Refs<T> {
    pub(crate) fn new(value: T) -> Refs<T> {
        Refs(ManuallyDrop::new(value))
    }

    /// The value, which the caller now drops (with the GIL, or through
    /// [`release`]).
    pub(crate) fn into_inner(this: Refs<T>) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped (ManuallyDrop), so the value is
        // taken out exactly once and `Refs::drop` never sees it.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl<T> Deref for Refs<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Drop for Refs<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and `into_inner` (the only other place
        // that takes the value) keeps `drop` from running.
        release(unsafe { ManuallyDrop::take(&mut self.0) });
    }
}

/// Drops `value`, which may hold Python references, on any thread: at once
/// if this thread holds the GIL, else inside a section of the fork gate.
/// `value`'s drop must not take the GIL.
pub(crate) fn release<T>(value: T) {
    if gil_held() {
        drop(value);
    } else {
        let _section = Section::enter();
        drop(value);
    }
}

/// Whether this thread holds the GIL (true once the interpreter is gone:
/// nothing is ever drained then, so there is nothing to guard).
pub(crate) fn gil_held() -> bool {
    extern "C" {
        // Exported by every CPython 3 since 3.4, though outside the
        // limited API that pyo3-ffi's abi3 bindings declare.
        fn PyGILState_Check() -> std::os::raw::c_int;
    }
    if !crate::cell::is_python_alive() {
        return true;
    }
    // SAFETY: PyGILState_Check takes no arguments and may be called from
    // any thread, with or without the GIL, while the interpreter is
    // initialized (checked above).
    unsafe { PyGILState_Check() != 0 }
}

/// One thread's membership in the gate (see the module documentation).
/// Not `Send`: it must end on the thread that entered it (`DEPTH`).
#[must_use = "the section ends when this is dropped"]
pub(crate) struct Section(PhantomData<*const ()>);

impl Section {
    pub(crate) fn enter() -> Section {
        let depth = DEPTH.with(|d| {
            let v = d.get();
            d.set(v + 1);
            v
        });
        if depth == 0 {
            let mut seen = GATE.load(Ordering::Relaxed);
            loop {
                if seen >= FORK {
                    // A fork is being prepared: it waits for the sections
                    // already in, and none may start until it is done.
                    std::thread::yield_now();
                    seen = GATE.load(Ordering::Relaxed);
                    continue;
                }
                match GATE.compare_exchange_weak(
                    seen,
                    seen + SECTION,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
        }
        Section(PhantomData)
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        let outermost = DEPTH.with(|d| {
            let v = d.get() - 1;
            d.set(v);
            v == 0
        });
        if outermost {
            GATE.fetch_sub(SECTION, Ordering::Release);
        }
    }
}

/// Whether this thread is inside a section: code that takes the GIL, or
/// could wait for a thread that holds it, must not run there (checked in
/// debug builds where the GIL is taken).
pub(crate) fn in_section() -> bool {
    DEPTH.with(|d| d.get() != 0)
}

/// `pthread_atfork` prepare: close the gate and wait for the sections in
/// progress to end.
fn fork_prepare() {
    GATE.fetch_add(FORK, Ordering::Acquire);
    while GATE.load(Ordering::Acquire) & SECTIONS != 0 {
        std::thread::yield_now();
    }
}

/// `pthread_atfork` parent: this fork is done.
fn fork_parent() {
    GATE.fetch_sub(FORK, Ordering::Release);
}

/// `pthread_atfork` child: one thread, no section, no fork in progress.
fn fork_child() {
    GATE.store(0, Ordering::Relaxed);
    DEPTH.with(|d| d.set(0));
}

extern "C" fn on_prepare() {
    fork_prepare();
}

extern "C" fn on_parent() {
    fork_parent();
}

extern "C" fn on_child() {
    fork_child();
}

/// Installs the fork handlers (once per process; the module is never
/// unloaded, so the handlers stay valid).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the three handlers are `extern "C" fn()` items that live
        // as long as the process; they touch only atomics and this
        // thread's locals.
        let rc = unsafe { libc::pthread_atfork(Some(on_prepare), Some(on_parent), Some(on_child)) };
        // ENOMEM only: without the handlers forks are as unguarded as
        // before, which is no reason to refuse the import.
        let _ = rc;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    // The tests share GATE, so they run one at a time.
    static SERIAL: runtime_core::locks::Mutex<()> = runtime_core::locks::Mutex::new(());

    #[test]
    fn prepare_waits_for_a_section_and_blocks_new_ones() {
        let _serial = SERIAL.lock();
        let entered = Arc::new(Barrier::new(2));
        let leave = Arc::new(AtomicBool::new(false));
        let (e, l) = (entered.clone(), leave.clone());
        let holder = std::thread::spawn(move || {
            let _s = Section::enter();
            e.wait();
            while !l.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
        });
        entered.wait();
        let prepared = Arc::new(AtomicBool::new(false));
        let p = prepared.clone();
        let forker = std::thread::spawn(move || {
            fork_prepare();
            p.store(true, Ordering::Release);
        });
        while GATE.load(Ordering::Acquire) < FORK {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !prepared.load(Ordering::Acquire),
            "prepare ended inside a section"
        );
        // A section that starts now waits for the fork.
        let late_in = Arc::new(AtomicBool::new(false));
        let li = late_in.clone();
        let late = std::thread::spawn(move || {
            let _s = Section::enter();
            li.store(true, Ordering::Release);
        });
        leave.store(true, Ordering::Release);
        holder.join().unwrap();
        forker.join().unwrap();
        assert!(prepared.load(Ordering::Acquire));
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !late_in.load(Ordering::Acquire),
            "a section started during a fork"
        );
        fork_parent();
        late.join().unwrap();
        assert!(late_in.load(Ordering::Acquire));
        assert_eq!(GATE.load(Ordering::Acquire), 0);
    }

    #[test]
    fn nested_sections_do_not_wait_for_a_pending_fork() {
        let _serial = SERIAL.lock();
        let outer = Section::enter();
        let forker = std::thread::spawn(fork_prepare);
        while GATE.load(Ordering::Acquire) < FORK {
            std::thread::yield_now();
        }
        // The fork waits for `outer`; an inner section must not wait for
        // the fork.
        let inner = Section::enter();
        drop(inner);
        assert_eq!(GATE.load(Ordering::Acquire) & SECTIONS, 1);
        drop(outer);
        forker.join().unwrap();
        fork_parent();
        assert_eq!(GATE.load(Ordering::Acquire), 0);
    }

    #[test]
    fn child_resets_the_gate() {
        let _serial = SERIAL.lock();
        GATE.fetch_add(FORK + 3 * SECTION, Ordering::AcqRel);
        fork_child();
        assert_eq!(GATE.load(Ordering::Acquire), 0);
        let _s = Section::enter();
        assert_eq!(GATE.load(Ordering::Acquire), 1);
    }
}
