//! The task cell, its type-erased vtable, and the reference types the
//! scheduler moves around.
//!
//! A spawned task is ONE heap allocation, a `#[repr(C)]` [`Cell`] whose first
//! field is the non-generic [`Header`]. Everything that is not generic
//! (state, waker slot, list links) is in the header, so wakers, run queues
//! and the owned-task list deal in `NonNull<Header>` only; the monomorphic
//! functions behind [`Vtable`] cast back to the typed cell.
//!
//! Who may touch which field:
//! - `state`: anyone, atomically.
//! - `stage` (future / output): only the thread that holds `RUNNING`, or, once
//!   `COMPLETE` is set and join interest remains, only the `JoinHandle`.
//! - `join_waker`: the `JoinHandle` while `JOIN_WAKER` is unset and the task
//!   is not complete; the completer while `JOIN_WAKER` is set.
//! - `owned` links: only under the owning `OwnedTasks` shard's mutex.
//! - `scheduler`: immutable after creation.
use super::error::JoinError;
use super::id::Id;
use super::state::State;
use crate::loom::cell::UnsafeCell;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

/// What a scheduler must provide to its tasks.
pub(crate) trait Schedule: Sync + Sized + 'static {
    /// The task completed: remove it from the owned list, returning the
    /// list's reference if it was still linked.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// Queue a woken task.
    fn schedule(&self, task: Notified<Self>);

    /// Queue a task that woke itself while running (goes to the back).
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
}

/// The non-generic head of every task cell.
#[repr(C)]
pub(crate) struct Header {
    pub(super) state: State,
    pub(super) vtable: &'static Vtable,
    pub(super) id: Id,
    /// Links of the owned-tasks list; guarded by the list shard's mutex.
    pub(super) owned: UnsafeCell<Links>,
    /// The `JoinHandle`'s waker; ownership per `JOIN_WAKER` (see state.rs).
    pub(super) join_waker: UnsafeCell<Option<Waker>>,
}

/// Intrusive doubly-linked list links.
#[derive(Default)]
pub(crate) struct Links {
    pub(super) prev: Option<NonNull<Header>>,
    pub(super) next: Option<NonNull<Header>>,
    pub(super) linked: bool,
}

/// The future's lifecycle inside the cell.
pub(super) enum Stage<T: Future> {
    Running(T),
    Finished(Result<T::Output, JoinError>),
    Consumed,
}

/// The whole task allocation.
#[repr(C)]
pub(super) struct Cell<T: Future, S> {
    pub(super) header: Header,
    pub(super) scheduler: S,
    pub(super) stage: UnsafeCell<Stage<T>>,
}

/// Monomorphic entry points for one `(T, S)` pair.
pub(crate) struct Vtable {
    pub(super) poll: unsafe fn(NonNull<Header>),
    pub(super) schedule: unsafe fn(NonNull<Header>),
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    pub(super) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(super) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(super) shutdown: unsafe fn(NonNull<Header>),
}

fn vtable<T: Future, S: Schedule>() -> &'static Vtable {
    &Vtable {
        poll: super::harness::poll::<T, S>,
        schedule: super::harness::schedule::<T, S>,
        dealloc: super::harness::dealloc::<T, S>,
        try_read_output: super::harness::try_read_output::<T, S>,
        drop_join_handle_slow: super::harness::drop_join_handle_slow::<T, S>,
        shutdown: super::harness::shutdown::<T, S>,
    }
}

/// A copyable, non-owning pointer to a task; callers manage references.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: a task cell is only reached through its state word's protocol; the
// futures stored are `Send` (spawn requires it), so moving the pointer
// between threads is sound.
unsafe impl Send for RawTask {}
// SAFETY: as above; every shared access goes through atomics or is guarded
// by the RUNNING / JOIN_WAKER ownership rules.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task cell holding `future`, with three references.
    pub(super) fn new<T, S>(future: T, scheduler: S, id: Id) -> RawTask
    where
        T: Future + Send + 'static,
        T::Output: Send + 'static,
        S: Schedule,
    {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<T, S>(),
                id,
                owned: UnsafeCell::new(Links::default()),
                join_waker: UnsafeCell::new(None),
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        RawTask {
            ptr: NonNull::from(Box::leak(cell)).cast(),
        }
    }

    pub(super) fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(super) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(super) fn header(&self) -> &Header {
        // SAFETY: every `RawTask` is derived from a live cell and is used only
        // while its holder owns (or borrows from an owner of) a reference,
        // so the header is allocated.
        unsafe { self.ptr.as_ref() }
    }

    pub(super) fn state(&self) -> &State {
        &self.header().state
    }

    pub(super) fn id(&self) -> Id {
        self.header().id
    }

    /// # Safety
    /// The caller must own a `Notified` reference and hand it over.
    pub(super) unsafe fn poll(self) {
        // SAFETY: the vtable matches the cell; the reference is handed over
        // as the caller promised.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// # Safety
    /// The caller must hand over one reference (the list's).
    pub(super) unsafe fn shutdown(self) {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// # Safety
    /// `dst` must point to a `Poll<Result<T::Output, JoinError>>` of this
    /// task's output type, and the caller must be its `JoinHandle`.
    pub(super) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: the caller's promises are exactly the vtable fn's contract.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// # Safety
    /// Called once, by the `JoinHandle`'s drop, which hands over its reference.
    pub(super) unsafe fn drop_join_handle_slow(self) {
        // SAFETY: the caller's promise is the vtable fn's contract.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Asks for cancellation from any thread (`abort()`); the caller keeps
    /// its own reference.
    pub(super) fn remote_abort(self) {
        use super::state::ToNotified;
        if self.state().transition_to_notified_and_cancel() == ToNotified::Submit {
            // SAFETY: the transition added the reference the new Notified
            // owns; `schedule` takes it over.
            unsafe { (self.header().vtable.schedule)(self.ptr) }
        }
    }

    pub(super) fn ref_inc(self) {
        self.state().ref_inc();
    }

    /// Drops one reference, freeing the cell if it was the last.
    ///
    /// # Safety
    /// The caller must own the reference it drops and not use `self` after.
    pub(super) unsafe fn drop_reference(self) {
        if self.state().ref_dec() {
            // SAFETY: that was the last reference, so no one else can reach
            // the cell any more.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

/// An owned reference to a task (the owned list's).
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

/// An owned reference to a task that is scheduled to run: at most one exists
/// per task (guarded by `NOTIFIED`).
pub(crate) struct Notified<S: 'static>(Task<S>);

// SAFETY: see `RawTask`; the scheduler type is only used through `&S` from
// the thread that runs the task, and `S: Sync`.
unsafe impl<S: Schedule> Send for Task<S> {}
// SAFETY: as above.
unsafe impl<S: Schedule> Sync for Task<S> {}

impl<S: 'static> Task<S> {
    /// # Safety
    /// The caller hands over one reference it owns.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Task<S> {
        Task {
            raw: RawTask::from_raw(ptr),
            _p: PhantomData,
        }
    }

    pub(super) fn header_ptr(&self) -> NonNull<Header> {
        self.raw.ptr
    }

    /// Borrows a task without owning a reference (used by `release`).
    ///
    /// # Safety
    /// The caller keeps the task alive for the borrow's duration.
    pub(super) unsafe fn borrow(ptr: NonNull<Header>) -> ManuallyDrop<Task<S>> {
        // SAFETY: wrapped in ManuallyDrop, so no reference is dropped.
        ManuallyDrop::new(unsafe { Task::from_raw(ptr) })
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        self.raw.id()
    }

    /// Cancels the task as part of runtime shutdown; consumes this reference.
    pub(crate) fn shutdown(self) {
        let raw = self.raw;
        std::mem::forget(self);
        // SAFETY: we hand over the reference `self` owned.
        unsafe { raw.shutdown() }
    }
}

impl<S: 'static> Notified<S> {
    /// # Safety
    /// The caller hands over the task's `Notified` reference.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded caller promise.
        Notified(unsafe { Task::from_raw(ptr) })
    }

    /// Polls the task (or cancels it, if aborted); consumes the reference.
    pub(crate) fn run(self) {
        let raw = self.0.raw;
        std::mem::forget(self);
        // SAFETY: we hand over the Notified reference `self` owned.
        unsafe { raw.poll() }
    }

    /// The task's id.
    pub(crate) fn id(&self) -> Id {
        self.0.id()
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        // SAFETY: `self` owns one reference and is being dropped.
        unsafe { self.raw.drop_reference() }
    }
}

impl<S: 'static> std::fmt::Debug for Task<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Task({:?})", self.id())
    }
}

impl<S: 'static> std::fmt::Debug for Notified<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notified({:?})", self.id())
    }
}

impl<S: Schedule> Notified<S> {
    /// Cancels a task that was queued but will never run (blocking-pool
    /// shutdown); consumes the reference.
    pub(crate) fn shutdown(self) {
        let raw = self.0.raw;
        std::mem::forget(self);
        // SAFETY: we hand over the Notified reference; a queued task is
        // idle, so `shutdown` claims and cancels it.
        unsafe { raw.shutdown() }
    }
}

/// Creates a task that is not linked into any owned list (blocking tasks):
/// returns its first `Notified` and its `JoinHandle`.
pub(crate) fn unowned<T, S>(future: T, scheduler: S, id: Id) -> (Notified<S>, JoinHandle<T::Output>)
where
    T: Future + Send + 'static,
    T::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, id);
    // SAFETY: RawTask::new made three references; the third (the list's)
    // is dropped at once since no list holds this task, leaving two.
    unsafe {
        drop(Task::<S>::from_raw(raw.header_ptr()));
        (Notified::from_raw(raw.header_ptr()), JoinHandle::new(raw))
    }
}

use super::join::JoinHandle;
