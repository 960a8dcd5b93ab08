//! The `RawWaker` vtable of a task.
//!
//! A task's `Waker` is a pointer to its header plus this vtable; `clone`
//! adds a reference, `drop` removes one, `wake` hands its reference to the
//! new `Notified` (or drops it), `wake_by_ref` adds one only when it must
//! submit. All four are callable from any thread, at any time, including
//! after the task completed or its runtime shut down.
use super::raw::{Header, RawTask};
use super::state::ToNotified;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_by_val, wake_by_ref, drop_waker);

/// A waker borrowed for one poll: it does not own a reference, so it must not
/// be dropped as a `Waker` (clones made from it do own one).
pub(super) struct WakerRef(ManuallyDrop<Waker>);

impl Deref for WakerRef {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.0
    }
}

/// # Safety
/// The caller must hold a reference to the task for the `WakerRef`'s life.
pub(super) unsafe fn waker_ref(ptr: NonNull<Header>) -> WakerRef {
    // SAFETY: the vtable's functions uphold the RawWaker contract; the
    // ManuallyDrop keeps the borrowed reference from being released.
    WakerRef(ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &VTABLE))
    }))
}

fn raw(data: *const ()) -> RawTask {
    // SAFETY: every RawWaker with this vtable was made from a non-null
    // header pointer (`waker_ref`, `clone`).
    RawTask::from_raw(unsafe { NonNull::new_unchecked(data as *mut Header) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    raw(data).ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake_by_val(data: *const ()) {
    let t = raw(data);
    match t.state().transition_to_notified_by_val() {
        ToNotified::DoNothing => {}
        // SAFETY: the transition added the new Notified's reference; the
        // waker's own reference keeps the cell (and the scheduler handle
        // stored in it) alive until `schedule` returns, then is dropped.
        ToNotified::Submit => unsafe {
            (t.header().vtable.schedule)(t.header_ptr());
            t.drop_reference();
        },
        // SAFETY: that was the last reference.
        ToNotified::Dealloc => unsafe { (t.header().vtable.dealloc)(t.header_ptr()) },
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let t = raw(data);
    match t.state().transition_to_notified_by_ref() {
        // SAFETY: the transition added the Notified's reference.
        ToNotified::Submit => unsafe { (t.header().vtable.schedule)(t.header_ptr()) },
        ToNotified::DoNothing => {}
        ToNotified::Dealloc => unreachable!("wake_by_ref never drops a reference"),
    }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: a Waker owns one reference, dropped exactly once here.
    unsafe { raw(data).drop_reference() }
}
