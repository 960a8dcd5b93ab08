//! The runtime's registry of timer and fd-watcher callbacks: what they
//! call, shown to Python's garbage collector.
//!
//! # Design
//! A timer's or fd watcher's task holds no Python reference: its callable,
//! arguments and handle are an [`Entry`] of the runtime's [`Callbacks`],
//! under a [`Key`] that the task and the handle's state keep. So
//! `Runtime.__traverse__` can visit them, and a runtime referred to from
//! its own pending callback (`rt.call_later(60, lambda rt=rt: ...)`) is
//! garbage like any other cycle; `Runtime.__clear__` empties the registry
//! (the callbacks become no-ops) and the runtime is then dropped, which
//! shuts it down.
//!
//! Every access holds the GIL, so the registry needs no lock of its own
//! (a `GILProtected<RefCell<..>>`):
//!
//! - `call_later` / `call_at` / `call_every` / `add_reader` / `add_writer`
//!   register;
//! - a firing takes the GIL: a one-shot timer takes its entry out before
//!   the call and drops it after; a repeating timer or a watcher calls
//!   new references to its entry's objects, so that the entry may go
//!   (`cancel()`, `__clear__`) during the call;
//! - `cancel()`, `remove_*`, a replaced watcher, one stopped by an I/O
//!   error take their entry out;
//! - `shutdown()`, the runtime's drop and `__clear__` take every entry out.
//!
//! Python references therefore leave with the GIL held, never through
//! the off-GIL pool ([`crate::off_gil`]); only the registry itself, whose
//! last holder may be a runtime thread, drops what is left through it.
//!
//! A [`Key`] is a slot and that slot's generation, which moves on when
//! the entry leaves: taking an entry out twice, or after the registry was
//! emptied, does nothing, and a key never finds a later entry of the slot.
//!
//! The `RefCell` is borrowed only for the slot bookkeeping, never while
//! Python code can run (a call, a reference dropped, a Python allocation):
//! entries are taken out under the borrow and dropped after it. The
//! collector's visit skips a borrowed registry anyway (not visiting keeps
//! the objects alive, which is safe).
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::sync::GILProtected;
use pyo3::types::PyTuple;
use pyo3::{PyTraverseError, PyVisit};
use runtime_core::locks::Mutex;
use runtime_core::task::AbortHandle;

use crate::errors;
use crate::off_gil::Refs;

/// What a timer or fd watcher calls.
pub(crate) struct Entry {
    pub(crate) func: Py<PyAny>,
    pub(crate) args: Py<PyTuple>,
    /// The `TimerHandle` / `FdWatch` reported with an error.
    pub(crate) handle: Py<PyAny>,
    pub(crate) what: &'static str,
}

impl Entry {
    /// New references to the same objects.
    fn clone_ref(&self, py: Python<'_>) -> Entry {
        Entry {
            func: self.func.clone_ref(py),
            args: self.args.clone_ref(py),
            handle: self.handle.clone_ref(py),
            what: self.what,
        }
    }
}

/// Where an [`Entry`] is: a slot, and the slot's generation when the entry
/// was put there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    slot: u32,
    generation: u32,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    /// Empty slots, reused last-freed first.
    free: Vec<u32>,
}

impl Slots {
    fn insert(&mut self, entry: Entry) -> Key {
        let slot = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                // More than 2^32 pending callbacks would not fit in memory
                // first (an entry is 40 bytes).
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        s.entry = Some(entry);
        Key {
            slot,
            generation: s.generation,
        }
    }

    fn get(&self, key: Key) -> Option<&Entry> {
        let s = self.slots.get(key.slot as usize)?;
        if s.generation != key.generation {
            return None;
        }
        s.entry.as_ref()
    }

    /// Empties slot `i` (its generation moves on); its entry, if any.
    fn vacate(&mut self, i: u32) -> Option<Entry> {
        let s = &mut self.slots[i as usize];
        let entry = s.entry.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(i);
        Some(entry)
    }

    fn remove(&mut self, key: Key) -> Option<Entry> {
        self.get(key)?;
        self.vacate(key.slot)
    }
}

/// The fields of [`Callbacks`].
struct Registry {
    /// `Runtime.set_exception_handler`'s handler.
    handler: Mutex<Option<Py<PyAny>>>,
    slots: GILProtected<RefCell<Slots>>,
}

/// A runtime's exception handler and its pending timer and fd-watcher
/// callbacks; shared by the runtime, its timers' and watchers' states and
/// tasks.
pub(crate) struct Callbacks {
    /// Dropped by the last holder, maybe a runtime thread: see off_gil.
    inner: Refs<Registry>,
}

impl Default for Callbacks {
    fn default() -> Callbacks {
        Callbacks {
            inner: Refs::new(Registry {
                handler: Mutex::new(None),
                slots: GILProtected::new(RefCell::new(Slots::default())),
            }),
        }
    }
}

impl Callbacks {
    /// The exception handler, or None.
    pub(crate) fn handler(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner.handler.lock().as_ref().map(|h| h.clone_ref(py))
    }

    /// Replaces the exception handler; the old one, which the caller drops
    /// (with the lock released: its `__del__` may call back in, and a
    /// runtime thread may hold the GIL while it waits for the lock).
    pub(crate) fn set_handler(&self, handler: Option<Py<PyAny>>) -> Option<Py<PyAny>> {
        std::mem::replace(&mut *self.inner.handler.lock(), handler)
    }

    /// Registers `entry`.
    pub(crate) fn insert(&self, py: Python<'_>, entry: Entry) -> Key {
        self.inner.slots.get(py).borrow_mut().insert(entry)
    }

    /// Takes the entry of `key` out and drops it (nothing if it is gone).
    pub(crate) fn remove(&self, py: Python<'_>, key: Key) {
        let old = self.take(py, key);
        drop(old);
    }

    /// Takes the entry of `key` out.
    pub(crate) fn take(&self, py: Python<'_>, key: Key) -> Option<Entry> {
        // Never borrowed here in this process (no Python code runs under a
        // borrow); a forked child may have copied a runtime thread's
        // borrow, and then the entry stays.
        self.inner.slots.get(py).try_borrow_mut().ok()?.remove(key)
    }

    /// Takes every entry out and drops them (their callbacks become
    /// no-ops).
    pub(crate) fn clear(&self, py: Python<'_>) {
        let old: Vec<Entry> = {
            // As in `take`: a borrow copied by fork() leaves the entries.
            let Ok(mut slots) = self.inner.slots.get(py).try_borrow_mut() else {
                return;
            };
            (0..slots.slots.len() as u32)
                .filter_map(|i| slots.vacate(i))
                .collect()
        };
        drop(old);
        // The handler is kept: a runtime shut down still reports through
        // it (a callback already running).
    }

    /// Drops the exception handler and every entry (`Runtime.__clear__`).
    pub(crate) fn clear_all(&self, py: Python<'_>) {
        let old = self.set_handler(None);
        drop(old);
        self.clear(py);
    }

    /// Visits the handler and every entry's callable and arguments (the
    /// handles hold no Python reference).
    pub(crate) fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        // A lock held elsewhere is skipped (its holders never wait for the
        // GIL under it).
        if let Some(h) = self.inner.handler.try_lock() {
            if let Some(h) = h.as_ref() {
                visit.call(h)?;
            }
        }
        let Ok(slots) = self.inner.slots.traverse(visit.clone()).try_borrow() else {
            return Ok(());
        };
        for e in slots.slots.iter().filter_map(|s| s.entry.as_ref()) {
            visit.call(&e.func)?;
            visit.call(&e.args)?;
        }
        Ok(())
    }

    /// Calls the callback of `key` (taking the GIL) unless `cancelled` is
    /// set or the entry is gone; false when it was not called. A `once`
    /// callback's entry leaves the registry with the call.
    pub(crate) fn fire(&self, key: Key, cancelled: &AtomicBool, once: bool) -> bool {
        crate::gil::with_gil(|py| {
            if cancelled.load(Ordering::Acquire) {
                return false;
            }
            let entry = {
                let mut slots = self.inner.slots.get(py).borrow_mut();
                if once {
                    slots.remove(key)
                } else {
                    slots.get(key).map(|e| e.clone_ref(py))
                }
            };
            let Some(entry) = entry else {
                return false;
            };
            if let Err(e) = entry.func.call1(py, entry.args.bind(py)) {
                self.report(py, entry.what, entry.handle.bind(py), e);
            }
            // `entry` is dropped here, with the GIL.
            true
        })
        // The interpreter is exiting or gone: stop.
        .unwrap_or(false)
    }

    /// Reports `e`, raised by (or about) the callback of `handle`, to the
    /// exception handler.
    pub(crate) fn report(&self, py: Python<'_>, what: &str, handle: &Bound<'_, PyAny>, e: PyErr) {
        let handler = self.handler(py);
        errors::report_callback_error(py, handler.as_ref(), what, handle, e);
    }
}

/// What a timer's or fd watcher's task and its Python handle
/// (`TimerHandle`, `FdWatch`) share about its callback: whether it was
/// cancelled, how to abort the task, and its entry in the runtime's
/// [`Callbacks`].
pub(crate) struct Registration {
    /// Set by `cancel()` (and by an fd watcher stopped by an I/O error);
    /// checked under the GIL right before each call.
    pub(crate) cancelled: AtomicBool,
    abort: OnceLock<AbortHandle>,
    callbacks: Arc<Callbacks>,
    /// Set once the callback is registered: its entry holds the handle,
    /// which holds this, so the registration comes first.
    key: OnceLock<Key>,
}

impl Registration {
    pub(crate) fn new(callbacks: &Arc<Callbacks>) -> Registration {
        Registration {
            cancelled: AtomicBool::new(false),
            abort: OnceLock::new(),
            callbacks: callbacks.clone(),
            key: OnceLock::new(),
        }
    }

    /// Puts the callback in the registry; its key, which the task fires.
    pub(crate) fn register(&self, py: Python<'_>, entry: Entry) -> Key {
        let key = self.callbacks.insert(py, entry);
        let _ = self.key.set(key);
        key
    }

    /// Hands over the task's abort handle; aborts it at once if cancelled
    /// meanwhile.
    pub(crate) fn set_task(&self, abort: AbortHandle) {
        let _ = self.abort.set(abort);
        if self.cancelled.load(Ordering::Acquire) {
            if let Some(a) = self.abort.get() {
                a.abort();
            }
        }
    }

    /// Cancels: no call starts after this returns (a call already running
    /// finishes), the task is aborted and the callback leaves the registry.
    pub(crate) fn cancel(&self, py: Python<'_>) {
        self.cancelled.store(true, Ordering::Release);
        if let Some(a) = self.abort.get() {
            a.abort();
        }
        if let Some(&key) = self.key.get() {
            self.callbacks.remove(py, key);
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// [`Callbacks::fire`] of this callback.
    pub(crate) fn fire(&self, key: Key, once: bool) -> bool {
        self.callbacks.fire(key, &self.cancelled, once)
    }

    /// The runtime's registry.
    pub(crate) fn callbacks(&self) -> &Callbacks {
        &self.callbacks
    }
}
