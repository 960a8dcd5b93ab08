//! The monomorphic task operations behind the vtable: poll, complete,
//! cancel, read output, drop the join handle, deallocate.
//!
//! Every function here follows the ownership rules in `raw.rs` and the state
//! protocol in `state.rs`; each `unsafe` block names the rule it relies on.
//! Panics raised by the user's future (while polling or while being dropped)
//! are caught here and turned into a `JoinError`; they never unwind into the
//! scheduler.
use super::error::JoinError;
use super::id::TaskIdGuard;
use super::raw::{Cell, Header, Notified, Schedule, Stage, Task};
use super::state::{Snapshot, ToIdle, ToRunning};
use super::waker::waker_ref;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

fn cell<'a, T: Future, S>(ptr: NonNull<Header>) -> &'a Cell<T, S> {
    // SAFETY: the vtable these functions sit in was built for exactly this
    // `(T, S)` cell, whose `#[repr(C)]` layout starts with the header; the
    // callers own a reference, so the cell is live for the call.
    unsafe { ptr.cast::<Cell<T, S>>().as_ref() }
}

/// Drops the future or output in place and leaves `Consumed`. Dropping may
/// run user code (the future's or output's `Drop`); a panic there is
/// returned, not unwound. The caller sets the task id if user code may run.
///
/// # Safety
/// The caller must have exclusive access to the stage (holds `RUNNING`, or
/// is the `JoinHandle` of a complete task).
unsafe fn drop_stage<T: Future, S>(c: &Cell<T, S>) -> Result<(), Box<dyn std::any::Any + Send>> {
    c.stage.with_mut(|s| {
        // SAFETY: exclusive access per the caller's contract; the value is
        // initialized (every stage is written before it is read or dropped).
        let res = catch_unwind(AssertUnwindSafe(|| unsafe { std::ptr::drop_in_place(s) }));
        // SAFETY: the old value is dropped (a panicking `Drop` still drops
        // the remaining fields while unwinding), so writing over it without
        // dropping is sound; access is still exclusive.
        unsafe { std::ptr::write(s, Stage::Consumed) };
        res
    })
}

/// Stores the output over a `Consumed` stage.
///
/// # Safety
/// As [`drop_stage`], and the stage is `Consumed` (nothing to drop).
unsafe fn store_output<T: Future, S>(c: &Cell<T, S>, out: Result<T::Output, JoinError>) {
    // SAFETY: exclusive per the caller's contract; `Consumed` needs no drop.
    c.stage
        .with_mut(|s| unsafe { std::ptr::write(s, Stage::Finished(out)) });
}

/// True when dropping the stage cannot run user code: nothing is left, or
/// only an `Ok` output whose type has no drop glue. Such a stage needs no
/// task id set and may be dropped with the cell.
///
/// # Safety
/// As [`drop_stage`].
unsafe fn stage_drop_is_trivial<T: Future, S>(c: &Cell<T, S>) -> bool {
    // SAFETY: exclusive per the caller's contract, read only.
    c.stage.with(|s| match unsafe { &*s } {
        Stage::Consumed => true,
        Stage::Finished(Ok(_)) => !std::mem::needs_drop::<T::Output>(),
        _ => false,
    })
}

/// Poll entry point: the caller handed over the Notified reference.
pub(super) unsafe fn poll<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    let c = cell::<T, S>(ptr);
    match c.header.state.transition_to_running() {
        ToRunning::Poll => {
            if poll_future(c, ptr).is_ready() {
                // SAFETY: we hold RUNNING and the output is stored.
                unsafe { complete::<T, S>(ptr) };
                return;
            }
            match c.header.state.transition_to_idle() {
                ToIdle::Ok => {}
                ToIdle::OkNotified => {
                    // SAFETY: the transition added a reference for this new
                    // Notified (state.rs: OkNotified).
                    let n = unsafe { Notified::<S>::from_raw(ptr) };
                    // `c.scheduler` lives in the cell: our running reference
                    // keeps the cell alive while `yield_now` uses it, even if
                    // another worker runs the task to completion meanwhile.
                    c.scheduler.yield_now(n);
                    // SAFETY: drops the running reference we still own;
                    // `c` is not used after this.
                    unsafe { super::raw::RawTask::from_raw(ptr).drop_reference() };
                }
                // SAFETY: that was the last reference.
                ToIdle::OkDealloc => unsafe { dealloc::<T, S>(ptr) },
                ToIdle::Cancelled => {
                    // SAFETY: transition_to_idle left RUNNING set for us.
                    unsafe {
                        cancel_task(c);
                        complete::<T, S>(ptr);
                    }
                }
            }
        }
        // SAFETY: we hold RUNNING.
        ToRunning::Cancel => unsafe {
            cancel_task(c);
            complete::<T, S>(ptr);
        },
        ToRunning::Failed => {}
        // SAFETY: that was the last reference.
        ToRunning::Dealloc => unsafe { dealloc::<T, S>(ptr) },
    }
}

/// Polls the future once, storing the output (or panic) on `Ready`. The
/// task id stays set from the poll through dropping the future and storing
/// the output.
fn poll_future<T: Future, S: Schedule>(c: &Cell<T, S>, ptr: NonNull<Header>) -> Poll<()> {
    let id = c.header.id;
    let _id = TaskIdGuard::enter(id);
    let res = {
        // SAFETY: the waker borrows the Notified reference we hold for the
        // duration of this poll.
        let waker = unsafe { waker_ref(ptr) };
        let mut cx = Context::from_waker(&waker);
        catch_unwind(AssertUnwindSafe(|| {
            c.stage.with_mut(|s| {
                // SAFETY: we hold RUNNING, so this is the only access to
                // the stage.
                match unsafe { &mut *s } {
                    // SAFETY: the cell never moves until it is freed, so the
                    // future is pinned in place.
                    Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
                    _ => unreachable!("polled a task whose future is gone"),
                }
            })
        }))
    };
    let output = match res {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(out)) => Ok(out),
        Err(panic) => Err(JoinError::panic(id, panic)),
    };
    // Drop the future first, then store the output.
    // SAFETY: we hold RUNNING.
    let output = match unsafe { drop_stage(c) } {
        Ok(()) => output,
        Err(panic) => {
            // Discarding the output runs user `Drop` code (the output's, or
            // the first panic payload's): it must not unwind either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(output)));
            Err(JoinError::panic(id, panic))
        }
    };
    // SAFETY: we hold RUNNING and the stage is Consumed.
    unsafe { store_output(c, output) };
    Poll::Ready(())
}

/// Drops the future and stores a cancellation error.
///
/// # Safety
/// The caller holds `RUNNING`.
unsafe fn cancel_task<T: Future, S>(c: &Cell<T, S>) {
    let id = c.header.id;
    let _id = TaskIdGuard::enter(id);
    // SAFETY: forwarded: the caller holds RUNNING.
    let err = match unsafe { drop_stage(c) } {
        Ok(()) => JoinError::cancelled(id),
        Err(panic) => JoinError::panic(id, panic),
    };
    // SAFETY: as above, and the stage is Consumed.
    unsafe { store_output(c, Err(err)) };
}

/// Publishes completion, notifies the joiner, releases the task.
///
/// # Safety
/// The caller holds `RUNNING` and one reference, and the output is stored.
unsafe fn complete<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // `c` must not outlive the release below: the cell may be freed then,
    // so it is a local (not an argument, which the caller would keep alive).
    let c = cell::<T, S>(ptr);
    let snapshot = c.header.state.transition_to_complete();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !snapshot.is_join_interested() {
            // No JoinHandle: we own the output and drop it now, unless that
            // is a no-op (then it goes with the cell).
            // SAFETY: COMPLETE without join interest: the stage is ours.
            if !unsafe { stage_drop_is_trivial(c) } {
                let _id = TaskIdGuard::enter(c.header.id);
                // SAFETY: as above.
                let _ = unsafe { drop_stage(c) };
            }
        } else if snapshot.is_join_waker_set() {
            c.header.join_waker.with(|w| {
                // SAFETY: JOIN_WAKER set + COMPLETE: the slot is ours to read.
                if let Some(w) = unsafe { &*w } {
                    w.wake_by_ref();
                }
            });
            let after = c.header.state.unset_waker_after_complete();
            if !after.is_join_interested() {
                // The JoinHandle was dropped meanwhile; the waker is ours.
                // SAFETY: its drop saw JOIN_WAKER set and left the slot.
                c.header.join_waker.with_mut(|w| unsafe { *w = None });
            }
        }
    }));
    // SAFETY: we hold a reference for the borrow's duration.
    let me = unsafe { Task::<S>::borrow(ptr) };
    let release = match c.scheduler.release(&me) {
        Some(list_ref) => {
            std::mem::forget(list_ref);
            2
        }
        None => 1,
    };
    let last = c.header.state.transition_to_terminal(release);
    if last {
        // SAFETY: no references remain, and `c` is not used again.
        unsafe { dealloc::<T, S>(ptr) };
    }
}

/// Queues the task; the caller hands over the new Notified reference.
pub(super) unsafe fn schedule<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    let c = cell::<T, S>(ptr);
    // SAFETY: the caller hands over the Notified reference.
    c.scheduler.schedule(unsafe { Notified::from_raw(ptr) });
}

/// Frees the cell.
pub(super) unsafe fn dealloc<T: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the cell was made by `Box::new` in `RawTask::new` and this is
    // the last reference, so reconstructing and dropping the box is sound.
    let b = unsafe { Box::from_raw(ptr.cast::<Cell<T, S>>().as_ptr()) };
    // SAFETY: the last reference: nothing else touches the stage.
    let id = (!unsafe { stage_drop_is_trivial(&b) }).then_some(b.header.id);
    let _ = catch_unwind(AssertUnwindSafe(move || {
        let _g = id.map(TaskIdGuard::enter);
        drop(b)
    }));
}

pub(super) unsafe fn try_read_output<T: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    let c = cell::<T, S>(ptr);
    if can_read_output(&c.header, waker) {
        // SAFETY: COMPLETE with join interest: the JoinHandle (our caller)
        // owns the stage.
        let stage = c
            .stage
            .with_mut(|s| unsafe { std::mem::replace(&mut *s, Stage::Consumed) });
        let out = match stage {
            Stage::Finished(out) => out,
            _ => panic!("JoinHandle polled after completion"),
        };
        // SAFETY: the caller promised `dst` has this type.
        unsafe { *(dst as *mut Poll<Result<T::Output, JoinError>>) = Poll::Ready(out) };
    }
}

/// Registers `waker` unless the task is complete; true = output readable.
fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    debug_assert!(snapshot.is_join_interested());
    if snapshot.is_complete() {
        return true;
    }
    let res = if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER set: the completer may read the slot, and so
        // may we (shared read only).
        let same = header.join_waker.with(|w| match unsafe { &*w } {
            Some(w) => w.will_wake(waker),
            None => false,
        });
        if same {
            return false;
        }
        header
            .state
            .unset_waker()
            .and_then(|snap| set_join_waker(header, waker.clone(), snap))
    } else {
        set_join_waker(header, waker.clone(), snapshot)
    };
    match res {
        Ok(_) => false,
        Err(snapshot) => {
            debug_assert!(snapshot.is_complete());
            true
        }
    }
}

fn set_join_waker(header: &Header, waker: Waker, snapshot: Snapshot) -> Result<Snapshot, Snapshot> {
    debug_assert!(!snapshot.is_join_waker_set());
    // SAFETY: JOIN_WAKER unset and not complete: the JoinHandle (our
    // caller) owns the slot.
    header.join_waker.with_mut(|w| unsafe { *w = Some(waker) });
    let res = header.state.set_join_waker();
    if res.is_err() {
        // Completed meanwhile: we still own the slot; clear it.
        // SAFETY: set_join_waker failed, so JOIN_WAKER stays unset.
        header.join_waker.with_mut(|w| unsafe { *w = None });
    }
    res
}

pub(super) unsafe fn drop_join_handle_slow<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    let c = cell::<T, S>(ptr);
    let t = c.header.state.transition_to_join_handle_dropped();
    if t.drop_output {
        let _id = TaskIdGuard::enter(c.header.id);
        // SAFETY: complete and we were the join interest: stage is ours.
        let _ = unsafe { drop_stage(c) };
    }
    if t.drop_waker {
        // SAFETY: JOIN_WAKER is unset, so the slot is ours.
        c.header.join_waker.with_mut(|w| unsafe { *w = None });
    }
    // SAFETY: the JoinHandle's reference is handed to us.
    unsafe { super::raw::RawTask::from_raw(ptr).drop_reference() };
}

pub(super) unsafe fn shutdown<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    let c = cell::<T, S>(ptr);
    if !c.header.state.transition_to_shutdown() {
        // Running elsewhere (it will see CANCELLED) or already complete.
        // SAFETY: the caller handed us this reference.
        unsafe { super::raw::RawTask::from_raw(ptr).drop_reference() };
        return;
    }
    // SAFETY: transition_to_shutdown set RUNNING for us.
    unsafe {
        cancel_task(c);
        complete::<T, S>(ptr);
    }
}
