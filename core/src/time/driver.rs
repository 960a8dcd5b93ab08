//! The time driver: the timing wheel (sharded, each shard behind its own
//! mutex), advanced by the thread that parks the runtime's drivers.
//!
//! # Contract with the scheduler
//! - [`Driver::with_shards`] wraps the I/O driver and returns the shared [`Handle`]
//!   (stored in `runtime::driver::Handle::time`).
//! - [`Driver::park`] / [`Driver::park_timeout`]: compute the next timer
//!   deadline, park the I/O driver until then (or the given limit, or an
//!   unpark), then fire every expired timer.
//! - [`Driver::shutdown`]: fire every timer with a shutdown error; timers
//!   registered afterwards fire with it at once.
//!
//! # Design
//! The wheel is split into shards (one per worker thread, by default one
//! per CPU), each a full [`Wheel`] behind its own mutex, so threads
//! registering timers concurrently rarely contend. A timer is filed in the
//! shard of the thread that first registers it (`shard_hint`) and stays in
//! that shard. The driver visits every shard when it computes its next
//! deadline and when it fires timers. (Across shards, timers due by the same
//! `process` call fire shard by shard; within a shard, in tick order.)
//!
//! `next_wake` (atomic) is the tick the parked driver wakes at by itself,
//! `NO_WAKE` if it sleeps until unparked. Protocol, which makes a
//! registration with an earlier deadline always unpark a driver about to
//! sleep past it:
//! - the driver stores `NO_WAKE` *before* scanning the shards, then
//!   `fetch_min`s the minimum it found; when a SeqCst load finds
//!   `NO_WAKE` already there, the load stands in for the store: every
//!   modification of `next_wake` is SeqCst, so `NO_WAKE` is the latest
//!   one before the load in the SeqCst order, and what follows below
//!   holds with the load in the store's place;
//! - a registration inserts under its shard lock, then loads `next_wake`;
//!   if its tick is earlier, it lowers `next_wake` and unparks the I/O
//!   driver (unparks are sticky: a driver not yet asleep returns at once).
//!   Either the scan saw the insert, or the registration sees `NO_WAKE` or
//!   the scan's result, both of which make it unpark when needed; so a
//!   burst of registrations unparks at most once per lowering.
//! - Each shard publishes whether it is empty (`Shard::empty`, SeqCst,
//!   stored under its lock when it changes); the driver skips shards it
//!   reads as empty without locking them. This stays correct: an insert
//!   whose "non-empty" store (its own, or an earlier one it found already
//!   made, which happens-before it through the lock) the scan missed comes
//!   after the scan's `NO_WAKE` store (or load) in the SeqCst order, so the
//!   registration's load of `next_wake` sees `NO_WAKE` or later.
//!
//! Per timer:
//! - register: one shard lock, one SeqCst load (plus a store when the
//!   shard goes from empty to non-empty);
//! - postpone (`Sleep::reset` later, `Interval` ticks): no lock, see
//!   `entry.rs`;
//! - cancel (drop before firing): one shard lock; drop after firing: none;
//! - fire: the driver pops due entries under the shard lock and collects
//!   their wakers, waking them in batches of [`WAKE_BATCH`] with the lock
//!   released.
//!
//! Paused clock: when the clock can auto-advance, "sleep until the next
//! timer" becomes "poll I/O without blocking; if nothing unparked the
//! driver (the runtime is idle), advance the clock to that timer".
use super::entry::{Fired, TimerShared, MAX_SAFE_TICK};
use super::source::TimeSource;
use super::wheel::{Insert, Wheel};
use super::Clock;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::runtime::driver::Handle as DriverHandle;
use std::cell::Cell;
use std::fmt;
use std::ptr::NonNull;
use std::task::Waker;
use std::time::Duration;

/// Wakers collected before the lock is released to wake them.
const WAKE_BATCH: usize = 32;

/// `next_wake` when the driver has no timer to wake for (or is computing).
const NO_WAKE: u64 = u64::MAX;

/// Owns the timing wheel's processing; held by the parked worker that drives.
#[derive(Debug)]
pub(crate) struct Driver {
    park: crate::io::driver::Driver,
    /// Reused buffer for wakers of fired timers.
    wakers: Vec<Waker>,
}

/// Shared access to the timer wheel from any thread.
pub(crate) struct Handle {
    time_source: TimeSource,
    shards: Box<[Shard]>,
    /// See the module documentation.
    next_wake: AtomicU64,
    is_shutdown: AtomicBool,
}

/// One wheel shard, on its own cache lines (shards are locked by different
/// threads).
#[repr(align(128))]
struct Shard {
    wheel: Mutex<Wheel>,
    /// Mirror of `wheel.len() == 0`, kept under the lock, so the driver
    /// can skip empty shards without locking them (see the protocol above).
    empty: AtomicBool,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock()
    }

    /// Publishes whether the wheel is empty (call with the lock held).
    /// Only transitions are stored, so a busy shard pays one relaxed load.
    fn publish_len(&self, wheel: &Wheel) {
        let empty = wheel.len() == 0;
        // Relaxed is enough to read our own shard's flag under its lock.
        if self.empty.load(Ordering::Relaxed) != empty {
            self.empty.store(empty, Ordering::SeqCst);
        }
    }

    fn is_empty(&self) -> bool {
        self.empty.load(Ordering::SeqCst)
    }
}

thread_local! {
    /// This thread's shard index (before `% shards`), assigned on first use.
    static SHARD_HINT: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// A per-thread number used to pick the shard a timer is filed in.
pub(crate) fn shard_hint() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    SHARD_HINT
        .try_with(|c| {
            let mut v = c.get();
            if v == u32::MAX {
                v = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & (u32::MAX >> 1);
                c.set(v);
            }
            v
        })
        .unwrap_or(0)
}

impl Driver {
    /// A driver with `shards` wheel shards (use 1 for a current-thread
    /// runtime, the number of workers for a multi-thread one).
    pub(crate) fn with_shards(
        park: crate::io::driver::Driver,
        clock: &Clock,
        shards: usize,
    ) -> (Driver, Handle) {
        let shards = shards.clamp(1, 256);
        let handle = Handle {
            time_source: TimeSource::new(clock),
            shards: (0..shards)
                .map(|_| Shard {
                    wheel: Mutex::new(Wheel::new()),
                    empty: AtomicBool::new(true),
                })
                .collect(),
            next_wake: AtomicU64::new(NO_WAKE),
            is_shutdown: AtomicBool::new(false),
        };
        let driver = Driver {
            park,
            wakers: Vec::with_capacity(WAKE_BATCH),
        };
        (driver, handle)
    }

    /// Blocks until an unpark, an I/O event or the next timer, then fires
    /// expired timers.
    pub(crate) fn park(&mut self, handle: &DriverHandle) {
        self.park_internal(handle, None)
    }

    /// Like [`Driver::park`], for at most `duration`.
    pub(crate) fn park_timeout(&mut self, handle: &DriverHandle, duration: Duration) {
        self.park_internal(handle, Some(duration))
    }

    /// Fires every timer with the shutdown error and shuts the I/O driver
    /// down.
    pub(crate) fn shutdown(&mut self, handle: &DriverHandle) {
        let time = &handle.time;
        if !time.is_shutdown.swap(true, Ordering::SeqCst) {
            for shard in time.shards.iter() {
                let mut lock = shard.lock();
                while let Some(item) = lock.pop_any() {
                    // SAFETY: entries linked in the wheel are live (their
                    // owner unlinks them under this lock before dropping
                    // them); it was just unlinked, so firing it is ours.
                    if let Some(w) = unsafe { item.as_ref() }.fire(Fired::Shutdown) {
                        lock = self.push_waker(w, lock, shard);
                    }
                }
                shard.publish_len(&lock);
                drop(lock);
                self.wake_all();
            }
            time.next_wake.store(NO_WAKE, Ordering::SeqCst);
        }
        self.park.shutdown(&handle.io);
    }

    fn park_internal(&mut self, handle: &DriverHandle, limit: Option<Duration>) {
        let time = &handle.time;
        // Publish "unknown" before scanning (see the module protocol). A
        // SeqCst load that already reads `NO_WAKE` serves as well as the
        // store (module docs), and an I/O-only loop, which never has a
        // timer, then does no read-modify-write here.
        if time.next_wake.load(Ordering::SeqCst) != NO_WAKE {
            time.next_wake.store(NO_WAKE, Ordering::SeqCst);
        }
        let next = time
            .shards
            .iter()
            // An empty shard is skipped: an insert we do not see yet will
            // see `NO_WAKE` (or our result) and unpark us.
            .filter(|shard| !shard.is_empty())
            .filter_map(|shard| shard.lock().next_expiration_tick())
            .min();
        if let Some(next) = next {
            time.next_wake.fetch_min(next, Ordering::SeqCst);
        }
        match next {
            Some(when) => {
                let now = time.time_source.now(&handle.clock);
                let mut duration = time.time_source.tick_to_duration(when.saturating_sub(now));
                if duration > Duration::ZERO {
                    if let Some(limit) = limit {
                        duration = duration.min(limit);
                    }
                    self.park_thread_timeout(handle, duration);
                } else {
                    self.park.park_timeout(&handle.io, Some(Duration::ZERO));
                }
            }
            None => match limit {
                Some(limit) => self.park_thread_timeout(handle, limit),
                None => self.park.park_timeout(&handle.io, None),
            },
        }
        self.process(handle);
    }

    fn park_thread_timeout(&mut self, handle: &DriverHandle, duration: Duration) {
        let clock = &handle.clock;
        if clock.can_auto_advance() {
            self.park.park_timeout(&handle.io, Some(Duration::ZERO));
            // Nothing unparked us: the runtime is idle, so jump to the timer
            // instead of waiting for it. (If something did, it has work to
            // do first; the next park tries again.)
            if !handle.io.did_wake() {
                if let Err(msg) = clock.advance(duration) {
                    panic!("{msg}");
                }
            }
        } else {
            self.park.park_timeout(&handle.io, Some(duration));
        }
    }

    /// Fires every timer due by the clock's current time.
    fn process(&mut self, handle: &DriverHandle) {
        let time = &handle.time;
        // Read the clock only when some shard holds a timer: a reactor
        // turn with no timers (an I/O-only loop) skips it.
        let mut now = None;
        let mut next = NO_WAKE;
        for shard in time.shards.iter() {
            if shard.is_empty() {
                continue;
            }
            let now = *now.get_or_insert_with(|| time.time_source.now(&handle.clock));
            let mut lock = shard.lock();
            // The clock is monotonic, but never let a wheel go backwards.
            let now = now.max(lock.elapsed());
            while let Some(item) = lock.poll(now) {
                // SAFETY: entries linked in the wheel are live (their owner
                // unlinks them under this lock before dropping them); `poll`
                // unlinked it and marked it pending, so firing it is ours.
                if let Some(w) = unsafe { item.as_ref() }.fire(Fired::Elapsed) {
                    lock = self.push_waker(w, lock, shard);
                }
            }
            next = next.min(lock.next_expiration_tick().unwrap_or(NO_WAKE));
            shard.publish_len(&lock);
            drop(lock);
            self.wake_all();
        }
        // Only an optimisation (fewer unparks until the next park, which
        // re-scans under the protocol): a stale value is harmless here, and
        // so is skipping a store that would not change it.
        if time.next_wake.load(Ordering::Relaxed) != next {
            time.next_wake.store(next, Ordering::SeqCst);
        }
    }

    /// Queues `w`; when the batch is full, wakes it with `lock` released.
    fn push_waker<'a>(
        &mut self,
        w: Waker,
        lock: MutexGuard<'a, Wheel>,
        shard: &'a Shard,
    ) -> MutexGuard<'a, Wheel> {
        self.wakers.push(w);
        if self.wakers.len() < WAKE_BATCH {
            return lock;
        }
        drop(lock);
        self.wake_all();
        shard.lock()
    }

    /// Wakes the batch; a panicking (foreign) waker does not keep the rest
    /// of it from being woken (see `wait_list::wake_each`).
    fn wake_all(&mut self) {
        crate::sync::wait_list::wake_each(self.wakers.drain(..));
    }
}

/// What registering a timer did.
#[derive(Debug)]
#[must_use]
pub(crate) enum Registered {
    /// Filed in the wheel.
    Pending,
    /// Already due (or the runtime is shut down): fired at once; wake this.
    Fired(Option<Waker>),
}

impl Handle {
    /// Instant <-> tick conversion for this driver.
    pub(crate) fn time_source(&self) -> &TimeSource {
        &self.time_source
    }

    /// Whether [`Driver::shutdown`] has run.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.is_shutdown.load(Ordering::SeqCst)
    }

    /// Number of timers registered and not yet fired or cancelled.
    pub(crate) fn num_registered(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    fn shard(&self, hint: u32) -> &Shard {
        &self.shards[hint as usize % self.shards.len()]
    }

    /// (Re-)registers `entry` to fire at `tick` in shard `hint`, unlinking
    /// it first if it is registered. Unparks the driver if it would
    /// otherwise wake later.
    ///
    /// # Safety
    /// `entry` is live and pinned, the caller has the owner's exclusive
    /// access to it (through `Pin<&mut>`), always passes the same `hint`
    /// for it, and unlinks it (via [`Handle::clear_entry`]) before it is
    /// dropped.
    pub(crate) unsafe fn reregister(
        &self,
        unpark: &DriverHandle,
        hint: u32,
        tick: u64,
        entry: NonNull<TimerShared>,
    ) -> Registered {
        let tick = tick.min(MAX_SAFE_TICK);
        let shard = self.shard(hint);
        let mut lock = shard.lock();
        // SAFETY: `entry` is live (caller).
        let shared = unsafe { entry.as_ref() };
        if !super::entry::is_terminal(shared.state()) {
            // SAFETY: non-terminal entries are linked in their shard (the
            // entry invariant; same `hint`), and we hold its lock.
            unsafe { lock.remove(entry) };
        }
        shared.set_expiration(tick);
        if self.is_shutdown() {
            shard.publish_len(&lock);
            return Registered::Fired(shared.fire(Fired::Shutdown));
        }
        // SAFETY: live, pinned and unlinked; the owner keeps it live until
        // it is unlinked (caller).
        match unsafe { lock.insert(entry) } {
            Insert::Filed(when) => {
                shard.publish_len(&lock);
                drop(lock);
                if when < self.next_wake.load(Ordering::SeqCst) {
                    // The driver would sleep past this timer: wake it so it
                    // re-scans. It cannot sleep past `when` from now on.
                    self.next_wake.fetch_min(when, Ordering::SeqCst);
                    unpark.unpark();
                }
                Registered::Pending
            }
            Insert::Elapsed => {
                shard.publish_len(&lock);
                Registered::Fired(shared.fire(Fired::Elapsed))
            }
        }
    }

    /// Unlinks `entry` if it is registered, without waking it.
    ///
    /// # Safety
    /// `entry` is live, the caller has the owner's exclusive access, and
    /// `hint` is the one it was registered with.
    pub(crate) unsafe fn clear_entry(&self, hint: u32, entry: NonNull<TimerShared>) {
        let shard = self.shard(hint);
        let mut lock = shard.lock();
        // SAFETY: `entry` is live (caller).
        let shared = unsafe { entry.as_ref() };
        if !super::entry::is_terminal(shared.state()) {
            // SAFETY: non-terminal entries are linked in their shard.
            unsafe { lock.remove(entry) };
            shard.publish_len(&lock);
            shared.cancel();
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("time::Handle")
            .field("time_source", &self.time_source)
            .field("shards", &self.shards.len())
            .field("next_wake", &self.next_wake.load(Ordering::Relaxed))
            .field("is_shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom), not(miri)))]
mod tests {
    use super::*;
    use crate::runtime::driver::{Cfg, Driver as RtDriver};
    use futures_util::task::noop_waker_ref;
    use std::pin::Pin;
    use std::task::Poll;

    fn paused_driver() -> (RtDriver, DriverHandle) {
        RtDriver::new(Cfg {
            event_interval_hint: 64,
            start_paused: true,
            timer_shards: 1,
        })
        .unwrap()
    }

    fn register(h: &DriverHandle, e: &Pin<Box<TimerShared>>, after: Duration) -> Registered {
        let tick = h.time.time_source().deadline_to_tick(h.clock.now() + after);
        // SAFETY: `e` is pinned, live, exclusively ours, and cleared before drop.
        unsafe {
            h.time
                .reregister(h, shard_hint(), tick, NonNull::from(&**e))
        }
    }

    #[test]
    fn auto_advance_fires_in_order_and_clock_jumps() {
        let (mut driver, h) = paused_driver();
        let start = h.clock.now();
        let es: Vec<_> = (0..3).map(|_| Box::pin(TimerShared::new())).collect();
        for (i, e) in es.iter().enumerate() {
            let d = Duration::from_secs(3600 * (3 - i as u64));
            assert!(matches!(register(&h, e, d), Registered::Pending));
            assert!(e.poll(noop_waker_ref()).is_pending());
        }
        assert_eq!(h.time.num_registered(), 3);
        // Park until all fired; each park either advances the clock to the
        // next slot (cascading) or fires what is due.
        let mut order = Vec::new();
        let mut parks = 0;
        while order.len() < 3 {
            driver.park(&h);
            parks += 1;
            assert!(parks < 100, "auto-advance made no progress");
            for (i, e) in es.iter().enumerate() {
                if e.fired().is_some() && !order.contains(&i) {
                    order.push(i);
                }
            }
        }
        assert_eq!(order, vec![2, 1, 0]);
        assert_eq!(h.clock.now() - start, Duration::from_secs(3 * 3600));
        assert_eq!(h.time.num_registered(), 0);
    }

    #[test]
    fn elapsed_registration_fires_immediately_and_clear_unlinks() {
        let (mut driver, h) = paused_driver();
        let e = Box::pin(TimerShared::new());
        assert!(matches!(
            register(&h, &e, Duration::ZERO),
            Registered::Fired(None)
        ));
        assert_eq!(e.poll(noop_waker_ref()), Poll::Ready(Fired::Elapsed));
        let e2 = Box::pin(TimerShared::new());
        let _ = register(&h, &e2, Duration::from_millis(5));
        assert_eq!(h.time.num_registered(), 1);
        // SAFETY: live and ours.
        unsafe { h.time.clear_entry(shard_hint(), NonNull::from(&*e2)) };
        assert_eq!(h.time.num_registered(), 0);
        assert!(h
            .time
            .shards
            .iter()
            .all(|s| s.lock().next_expiration_tick().is_none()));
        driver.shutdown(&h);
    }

    #[test]
    fn shutdown_fires_everything_with_error() {
        let (mut driver, h) = paused_driver();
        let es: Vec<_> = (1..=100).map(|_| Box::pin(TimerShared::new())).collect();
        for (i, e) in es.iter().enumerate() {
            let _ = register(&h, e, Duration::from_millis(i as u64 * 1000 + 1));
        }
        driver.shutdown(&h);
        assert!(es.iter().all(|e| e.fired() == Some(Fired::Shutdown)));
        assert_eq!(h.time.num_registered(), 0);
        // Registering after shutdown fires at once with the error.
        let late = Box::pin(TimerShared::new());
        assert!(matches!(
            register(&h, &late, Duration::from_secs(1)),
            Registered::Fired(_)
        ));
        assert_eq!(late.fired(), Some(Fired::Shutdown));
    }

    #[test]
    fn real_clock_park_waits_for_timer() {
        let (mut driver, h) = RtDriver::new(Cfg {
            event_interval_hint: 64,
            start_paused: false,
            timer_shards: 2,
        })
        .unwrap();
        let deadline = h.clock.now() + Duration::from_millis(20);
        let e = Box::pin(TimerShared::new());
        let tick = h.time.time_source().deadline_to_tick(deadline);
        // SAFETY: pinned, live, exclusively ours; fired before drop.
        let _ = unsafe { h.time.reregister(&h, 0, tick, NonNull::from(&*e)) };
        while e.fired().is_none() {
            driver.park(&h);
        }
        assert!(h.clock.now() >= deadline, "timer fired early");
    }
}
