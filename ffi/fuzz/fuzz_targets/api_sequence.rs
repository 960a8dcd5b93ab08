//! libFuzzer target: the input bytes are a small program of C API calls.
//!
//! Each input is decoded into at most `MAX_OPS` operations over small tables
//! of live handles (runtimes of both flavors, tasks, C futures, C wakers and
//! the task wakers C futures stash, timers, sleeps, completions, serial
//! queues, pipes/eventfds with watches and registrations), mixed with
//! hostile calls the API must refuse with a status (NULL, negative, closed,
//! huge and unpollable fds, unknown interest bits, 0 and `RT_FOREVER`
//! timeouts, stop twice, join twice, calls after shutdown/free, blocking
//! calls from inside callbacks). The functions are the crate's own
//! `extern "C"` items (the ffi crate is linked as an rlib, so the library
//! itself is built with the coverage and ASan instrumentation).
//!
//! Invariants checked (a violation aborts, which libFuzzer reports as a
//! crash with the input saved):
//! - every status is one of the values the header documents for that call
//!   in that state (e.g. `RT_ERR_SHUTDOWN` after shutdown, `RT_ERR_INVALID`
//!   for a second join, `RT_ERR_WOULD_DEADLOCK` for a blocking call from a
//!   callback), and every failing call leaves a valid C string in
//!   `rt_last_error()` that names the function;
//! - every argument handed over with a `drop_arg`/`drop_state`/`drop_data`
//!   is dropped exactly once: by the end of each input (everything freed)
//!   the drop count equals the hand-over count, a second drop or a callback
//!   after the drop touches freed memory (ASan), and a missing one is both
//!   a count mismatch and a leak (LeakSanitizer);
//! - every `rt_task_on_complete` callback runs exactly once, with a
//!   documented status and the task's own result;
//! - every item queued with `rt_queue_work` gets exactly one `done`, last:
//!   `RT_OK` after its `work` ran once, or `RT_ERR_CANCELLED` /
//!   `RT_ERR_SHUTDOWN` without it; an item whose `rt_work_cancel` returned
//!   `RT_OK` never runs and gets `RT_ERR_CANCELLED`; a cancel after `done`
//!   is refused (`RT_ERR_INVALID`);
//! - every thread a runtime started has ended after the input (the target
//!   waits for the thread count to come back; one that never ends is a
//!   hang);
//! - after `rt_runtime_free`, every task of that runtime is finished;
//! - nothing blocks: waits use 0/1 ms, or `RT_FOREVER` only where the API
//!   promises an immediate answer (a finished task, a completed completion,
//!   a runtime stopped just before `rt_runtime_run`), so a hang is a bug
//!   (libFuzzer's `-timeout` reports it).
//!
//! Caller rules the harness keeps (the API cannot check them): it never
//! closes an fd that has a live watch or registration, never uses a handle
//! after freeing it, and wakes/frees each owned waker once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runtime::completion::*;
use runtime::error::{rt_last_error, rt_status, rt_status_str, rt_version};
use runtime::fd::*;
use runtime::queue::*;
use runtime::runtime::*;
use runtime::task::*;
use runtime::timer::*;
use runtime::waker::*;
use runtime::work::*;
use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering::SeqCst,
};
use std::sync::{Arc, Mutex};

use rt_status::*;

/// Upper bound of operations per input (keeps each input to milliseconds).
const MAX_OPS: usize = 48;
const LIVE: u64 = 0x5AFE_C0DE_1234_5678;
const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// Arguments/states/waker data handed to the library, and those dropped.
static CREATED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);
/// `rt_task_on_complete` callbacks registered, and run.
static OC_REGISTERED: AtomicUsize = AtomicUsize::new(0);
static OC_FIRED: AtomicUsize = AtomicUsize::new(0);
/// Owned task wakers cloned by C futures (as `usize` so the table is Send).
static STASH: Mutex<Vec<usize>> = Mutex::new(Vec::new());
const STASH_MAX: usize = 8;

/// Whether `FUZZ_TRACE` is set: each operation's code is then printed to
/// stderr as it is decoded (to read what an artifact does).
fn trace() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// Prints the broken invariant and aborts (libFuzzer saves the input).
fn violated(msg: &str) -> ! {
    eprintln!("fuzz invariant violated: {msg}");
    std::process::abort()
}

fn check(cond: bool, msg: impl FnOnce() -> String) {
    if !cond {
        violated(&msg())
    }
}

/// The value a task body / C future of kind `k` returns.
fn tag(k: u8) -> *mut c_void {
    (0x5000usize + k as usize) as *mut c_void
}

/// What the harness hands over as `arg`/`state`/`data`: one heap block per
/// hand-over, freed by `drop_payload`, which also releases the handles the
/// payload owns.
struct Payload {
    magic: u64,
    kind: u8,
    /// An owned completion reference (released on drop), or NULL.
    comp: *mut rt_completion,
    /// An owned sleep (freed on drop), or NULL.
    sleep: *mut rt_sleep,
    /// The runtime the callback belongs to: valid while any of its
    /// callbacks can run (rt_runtime_free waits for every argument).
    rt: *mut rt_runtime,
    /// Whether this is a blocking-pool body (may block) or not.
    blocking: bool,
    current: bool,
    polls: u32,
    /// The timer/watch handle of this callback, once the harness has it
    /// (shared with the harness's table entry, which clears it before
    /// freeing the handle): the callback calls back into its own handle.
    own: Option<Arc<AtomicPtr<c_void>>>,
}

fn payload(kind: u8) -> Box<Payload> {
    Box::new(Payload {
        magic: LIVE,
        kind,
        comp: null_mut(),
        sleep: null_mut(),
        rt: null_mut(),
        blocking: false,
        current: false,
        polls: 0,
        own: None,
    })
}

/// Hands a payload over: counted as created.
fn hand_over(p: Box<Payload>) -> *mut c_void {
    CREATED.fetch_add(1, SeqCst);
    Box::into_raw(p).cast()
}

/// Takes back a payload the library refused (the call failed, so it is
/// still ours and `drop_arg` must not have run).
///
/// # Safety
/// `p` came from `hand_over` and was not dropped.
unsafe fn take_back(p: *mut c_void) {
    // SAFETY: per the contract, `p` is a live payload still owned by us.
    unsafe { drop_payload(p) }
}

/// # Safety
/// `p` is a live payload from `hand_over`; called once.
unsafe extern "C" fn drop_payload(p: *mut c_void) {
    let p = p.cast::<Payload>();
    // SAFETY: `p` is live per the contract (ASan reports a second drop as a
    // use-after-free before the magic check could be fooled).
    let magic = unsafe { (*p).magic };
    check(magic == LIVE, || {
        format!("drop of a dead payload ({magic:#x})")
    });
    // SAFETY: live and ours from here on.
    let mut b = unsafe { Box::from_raw(p) };
    b.magic = DEAD;
    // SAFETY: the payload owned these references; NULL is ignored.
    unsafe {
        rt_completion_free(b.comp);
        rt_sleep_free(b.sleep);
    }
    drop(b);
    DROPPED.fetch_add(1, SeqCst);
}

/// Checks that `p` is a live payload and returns it.
///
/// # Safety
/// `p` came from `hand_over` (a freed one is caught by ASan).
unsafe fn live<'a>(p: *mut c_void, who: &str) -> &'a mut Payload {
    // SAFETY: per the contract; a callback after drop_arg is a UAF that
    // ASan reports.
    let p = unsafe { &mut *p.cast::<Payload>() };
    check(p.magic == LIVE, || {
        format!("{who} called with a dead argument")
    });
    p
}

fn st_in(st: rt_status, allowed: &[rt_status], what: &str) {
    check(allowed.contains(&st), || {
        format!("{what} returned {st:?}, expected one of {allowed:?}")
    });
}

/// After a failed call: `rt_last_error()` is a valid C string naming `func`.
fn check_last_error(func: &str) {
    let p = rt_last_error();
    check(!p.is_null(), || "rt_last_error() returned NULL".into());
    // SAFETY: documented as a NUL-terminated string owned by the library,
    // valid until the next failing call on this thread.
    let s = unsafe { CStr::from_ptr(p) };
    let s = s
        .to_str()
        .unwrap_or_else(|_| violated("rt_last_error is not UTF-8"));
    check(s.len() < 4096 && s.starts_with(func), || {
        format!("rt_last_error() after {func} failed is {s:?}")
    });
}

/// `st_in` plus the last-error check when the status is not RT_OK.
fn expect(st: rt_status, allowed: &[rt_status], func: &str) {
    st_in(st, allowed, func);
    if st != RT_OK {
        check_last_error(func);
    }
}

// ---- callbacks (run on runtime threads, or on the harness thread when it
// drives a current-thread runtime or shuts one down) ----------------------

/// A task body; the behaviour is the payload's kind.
unsafe extern "C" fn task_fn(arg: *mut c_void) -> *mut c_void {
    // SAFETY: our payload, alive until the body returns.
    let p = unsafe { live(arg, "task_fn") };
    match p.kind % 4 {
        1 if !p.comp.is_null() => {
            // SAFETY: the payload owns a completion reference.
            let st = unsafe { rt_completion_complete(p.comp, tag(1)) };
            st_in(
                st,
                &[RT_OK, RT_ERR_INVALID],
                "rt_completion_complete in a task",
            );
        }
        2 => {
            // Blocking calls from a task must be refused, not deadlock.
            // SAFETY: the payload's runtime and completion are live while
            // the body runs.
            unsafe {
                if !p.comp.is_null() {
                    let timeout = if p.blocking { 1 } else { RT_FOREVER };
                    let st = rt_completion_wait(p.comp, timeout, null_mut());
                    if p.blocking {
                        st_in(
                            st,
                            &[RT_OK, RT_ERR_TIMEOUT],
                            "rt_completion_wait (blocking body)",
                        );
                    } else {
                        st_in(st, &[RT_ERR_WOULD_DEADLOCK], "rt_completion_wait in a task");
                    }
                }
                if !p.blocking {
                    let st = rt_runtime_shutdown(p.rt, RT_FOREVER);
                    st_in(
                        st,
                        &[RT_ERR_WOULD_DEADLOCK],
                        "rt_runtime_shutdown in a task",
                    );
                    let st = rt_runtime_run_once(p.rt, 0);
                    let ok: &[rt_status] = if p.current {
                        &[RT_ERR_WOULD_DEADLOCK, RT_ERR_SHUTDOWN]
                    } else {
                        &[RT_ERR_INVALID, RT_ERR_SHUTDOWN]
                    };
                    st_in(st, ok, "rt_runtime_run_once in a task");
                }
                let st = rt_runtime_stop(p.rt);
                let ok: &[rt_status] = if p.current {
                    &[RT_OK, RT_ERR_SHUTDOWN]
                } else {
                    &[RT_ERR_INVALID, RT_ERR_SHUTDOWN]
                };
                st_in(st, ok, "rt_runtime_stop in a task");
            }
        }
        3 => {
            // Spawn a detached child from inside the task.
            let child = hand_over(payload(0));
            // SAFETY: the runtime is live while this body runs; `child` is
            // a fresh payload.
            let st =
                unsafe { rt_spawn(p.rt, Some(task_fn), child, Some(drop_payload), null_mut()) };
            st_in(st, &[RT_OK, RT_ERR_SHUTDOWN], "rt_spawn in a task");
            if st != RT_OK {
                // SAFETY: refused, so still ours.
                unsafe { take_back(child) };
            }
        }
        _ => {}
    }
    tag(p.kind)
}

/// A C future; the behaviour is the state's kind.
unsafe extern "C" fn poll_fn(
    state: *mut c_void,
    w: *const rt_waker,
    result: *mut *mut c_void,
) -> rt_poll {
    // SAFETY: our payload, alive while the task is polled.
    let p = unsafe { live(state, "poll_fn") };
    check(!w.is_null() && !result.is_null(), || {
        "poll_fn got NULL".into()
    });
    p.polls += 1;
    let ready = match p.kind % 5 {
        0 => true,
        1 => {
            // Pending once, waking itself.
            if p.polls == 1 {
                // SAFETY: the borrowed waker is live for this call.
                unsafe { rt_waker_wake_by_ref(w) };
            }
            p.polls > 1
        }
        2 => {
            // Pending until the harness wakes a stashed clone.
            if p.polls == 1 {
                let mut s = STASH.lock().unwrap();
                if s.len() < STASH_MAX {
                    // SAFETY: cloning the borrowed waker gives an owned one.
                    s.push(unsafe { rt_waker_clone(w) } as usize);
                } else {
                    // SAFETY: as above.
                    unsafe { rt_waker_wake_by_ref(w) };
                }
            }
            p.polls > 1
        }
        3 if !p.comp.is_null() => {
            let mut v = null_mut();
            // SAFETY: the state owns a completion reference; `w` is live.
            let r = unsafe { rt_completion_poll(p.comp, w, &mut v) };
            r == rt_poll::RT_READY
        }
        4 if !p.sleep.is_null() => {
            // SAFETY: the state owns the sleep; `w` is live.
            unsafe { rt_sleep_poll(p.sleep, w) == rt_poll::RT_READY }
        }
        _ => true,
    };
    if ready {
        // SAFETY: checked non-NULL above; writable per the API.
        unsafe { *result = tag(p.kind) };
        rt_poll::RT_READY
    } else {
        rt_poll::RT_PENDING
    }
}

static FIRES: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn timer_cb(arg: *mut c_void) {
    // SAFETY: our payload, alive until drop_arg.
    let p = unsafe { live(arg, "timer/queue callback") };
    FIRES.fetch_add(1, SeqCst);
    let h = p.own.as_ref().map_or(null_mut(), |h| h.load(SeqCst));
    if !h.is_null() {
        // A timer stopping itself from its own callback: allowed, and the
        // callback finishes normally. rt_timer_free (the only way the
        // harness releases the handle) waits for this callback first.
        // SAFETY: the handle is live while its callback runs.
        let st = unsafe { rt_timer_stop(h.cast()) };
        st_in(
            st,
            &[RT_OK, RT_ERR_SHUTDOWN],
            "rt_timer_stop in its own callback",
        );
    }
}

unsafe extern "C" fn watch_cb(arg: *mut c_void, fd: c_int, ready: u32) {
    // SAFETY: our payload, alive until drop_arg.
    let p = unsafe { live(arg, "watch_cb") };
    let h = p.own.as_ref().map_or(null_mut(), |h| h.load(SeqCst));
    if !h.is_null() {
        // Re-entrant: the watch changes its own interest from its callback
        // (READABLE, so a WRITABLE watch stops spinning).
        // SAFETY: the handle is live while its callback runs (rt_watch_stop
        // and rt_watch_free wait for it).
        let st = unsafe { rt_watch_set_interest(h.cast(), RT_READABLE) };
        st_in(
            st,
            &[RT_OK, RT_ERR_SHUTDOWN],
            "rt_watch_set_interest in its own callback",
        );
    }
    check(ready != 0 && ready & !0xF == 0, || {
        format!("watch_cb ready bits {ready:#x}")
    });
    // Drain (pipe or eventfd) so a level-triggered watch does not spin.
    let mut buf = [0u8; 64];
    // SAFETY: `fd` is open while the watch is live (the harness closes fds
    // only after their watches stopped); `buf` is writable.
    let _ = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
}

/// The `rt_task_on_complete` callback: `arg` is a boxed expected result.
unsafe extern "C" fn complete_cb(arg: *mut c_void, st: rt_status, result: *mut c_void) {
    // SAFETY: a Box<usize> leaked at registration, freed here exactly once.
    let expected = unsafe { Box::from_raw(arg.cast::<usize>()) };
    st_in(
        st,
        &[RT_OK, RT_ERR_CANCELLED, RT_ERR_SHUTDOWN],
        "on_complete status",
    );
    let want = if st == RT_OK { *expected } else { 0 };
    check(result as usize == want, || {
        format!("on_complete result {result:?} ({st:?}), expected {want:#x}")
    });
    OC_FIRED.fetch_add(1, SeqCst);
}

static CWAKES: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn cwake(data: *mut c_void) {
    // SAFETY: our payload, alive until drop_data.
    unsafe { live(data, "C wake") };
    CWAKES.fetch_add(1, SeqCst);
}

// ---- rt_queue_work items --------------------------------------------------

/// An `rt_work` in caller storage (first, so the callbacks' pointer is the
/// item's), with what the callbacks saw. Boxed, so it does not move while
/// queued; the harness frees it only after `done` ran (so `rt_work_cancel`
/// on it stays legal until then, and after).
#[repr(C)]
struct WorkItem {
    w: rt_work,
    magic: u64,
    /// How long `work` blocks, in microseconds.
    block_us: u32,
    /// `work` calls and `done` calls.
    ran: AtomicU32,
    dones: AtomicU32,
    /// The status `done` got (`-1` before).
    status: AtomicI32,
    /// Whether `work` had run when `done` came (read by `done`).
    ran_before_done: AtomicBool,
}

struct Work {
    item: Box<WorkItem>,
    rt: Rc<RtInfo>,
    /// `rt_work_cancel` returned RT_OK for it.
    cancelled: bool,
}

/// # Safety
/// `w` is the `rt_work` of a live `WorkItem`.
unsafe fn work_item<'a>(w: *mut rt_work, who: &str) -> &'a WorkItem {
    // SAFETY: the item outlives its `done` (the harness frees it later);
    // a call after that is a UAF that ASan reports.
    let it = unsafe { &*w.cast::<WorkItem>() };
    check(it.magic == LIVE, || {
        format!("{who} called with a dead work item")
    });
    it
}

unsafe extern "C" fn work_fn(w: *mut rt_work) {
    // SAFETY: queued items are live WorkItems.
    let it = unsafe { work_item(w, "work") };
    check(it.dones.load(SeqCst) == 0, || "work ran after done".into());
    it.ran.fetch_add(1, SeqCst);
    if it.block_us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(it.block_us as u64));
    }
}

unsafe extern "C" fn work_done(w: *mut rt_work, st: rt_status) {
    // SAFETY: queued items are live WorkItems.
    let it = unsafe { work_item(w, "done") };
    it.ran_before_done.store(it.ran.load(SeqCst) > 0, SeqCst);
    it.status.store(st as i32, SeqCst);
    let n = it.dones.fetch_add(1, SeqCst) + 1;
    check(n == 1, || format!("done called {n} times"));
}

// ---- the harness's tables ------------------------------------------------

/// What objects made from a runtime know about it.
struct RtInfo {
    shut: Cell<bool>,
    /// rt_runtime_free returned: every task of it must be finished.
    freed: Cell<bool>,
    current: bool,
    id: usize,
}

struct Rt {
    ptr: *mut rt_runtime,
    info: Rc<RtInfo>,
    workers: u32,
}

struct Task {
    ptr: *mut rt_task,
    rt: Rc<RtInfo>,
    /// The outcome was handed out (join/poll gave a final answer).
    consumed: bool,
    has_oc: bool,
    result: usize,
}

struct Obj<T> {
    ptr: *mut T,
    rt: Rc<RtInfo>,
}

struct Comp {
    ptr: *mut rt_completion,
    /// Known completed (by the harness, or a wait/poll saw it).
    done: bool,
    /// Some task may complete it.
    shared: bool,
}

struct FdRes {
    r: c_int,
    w: c_int,
    eventfd: bool,
}

struct Watch {
    ptr: *mut rt_watch,
    rt: Rc<RtInfo>,
    fd: c_int,
    stopped: bool,
}

struct Reg {
    ptr: *mut rt_fd,
    rt: Rc<RtInfo>,
    fd: c_int,
}

/// The bytes of one input, read as operation codes and operands (zeros
/// once exhausted).
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn idx(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

const NRT: usize = 2;
const NTASK: usize = 6;
const NSMALL: usize = 4;

#[derive(Default)]
struct World {
    rts: [Option<Rt>; NRT],
    tasks: [Option<Task>; NTASK],
    timers: [Option<Obj<rt_timer>>; NSMALL],
    sleeps: [Option<Obj<rt_sleep>>; NSMALL],
    queues: [Option<Obj<rt_queue>>; NSMALL],
    comps: [Option<Comp>; NSMALL],
    cwakers: [Option<*mut rt_waker>; NSMALL],
    fds: [Option<FdRes>; 3],
    watches: [Option<Watch>; NSMALL],
    regs: [Option<Reg>; NSMALL],
    /// Items queued with rt_queue_work, kept until their `done` ran.
    works: [Option<Work>; NSMALL],
    /// The self-handle cells of timers[i] / watches[i] (see Payload::own).
    timer_own: [Option<Arc<AtomicPtr<c_void>>>; NSMALL],
    watch_own: [Option<Arc<AtomicPtr<c_void>>>; NSMALL],
    /// (runtime id, fd) pairs with a live watch or registration.
    claims: Vec<(usize, c_int)>,
    next_rt_id: usize,
}

/// A delay or timeout operand: small, 0, or absurd.
fn delay(b: u8) -> u64 {
    match b % 6 {
        0 => 0,
        1 | 2 => 1,
        3 => 2,
        4 => u64::MAX,
        _ => 1 << 40,
    }
}

/// An interest operand: mostly valid, sometimes empty or with unknown bits.
fn interest(b: u8) -> u32 {
    match b % 8 {
        0..=3 => RT_READABLE,
        4 => RT_READABLE | RT_WRITABLE,
        5 => RT_WRITABLE,
        _ => (b as u32) << 1,
    }
}

fn interest_valid(i: u32) -> bool {
    i & !0xF == 0 && i & (RT_READABLE | RT_WRITABLE) != 0
}

fn shut_or(rt: &RtInfo, ok: rt_status) -> rt_status {
    if rt.shut.get() {
        RT_ERR_SHUTDOWN
    } else {
        ok
    }
}

impl World {
    fn rt(&self, i: usize) -> Option<&Rt> {
        self.rts[i].as_ref()
    }

    /// A live runtime pointer and its info, or None.
    fn pick_rt(&self, inp: &mut Input) -> Option<(*mut rt_runtime, Rc<RtInfo>)> {
        let i = inp.idx(NRT);
        self.rt(i).map(|r| (r.ptr, r.info.clone()))
    }

    /// A live queue (`on_queue`: runtime pointer NULL) or a live runtime
    /// (queue pointer NULL), with the runtime's bookkeeping either way.
    #[allow(clippy::type_complexity)]
    fn pick_rt_or_queue(
        &self,
        inp: &mut Input,
        on_queue: bool,
    ) -> Option<(*mut rt_runtime, Rc<RtInfo>, *mut rt_queue)> {
        if on_queue {
            let q = self.queues[inp.idx(NSMALL)].as_ref()?;
            Some((null_mut(), q.rt.clone(), q.ptr))
        } else {
            let (rt, info) = self.pick_rt(inp)?;
            Some((rt, info, null_mut()))
        }
    }

    fn op(&mut self, inp: &mut Input) {
        let code = inp.byte() % 44;
        if trace() {
            eprintln!("op {code} at byte {}", inp.pos - 1);
        }
        match code {
            0 | 1 => self.rt_new(inp),
            2 => self.rt_new_hostile(inp),
            3 => self.rt_shutdown(inp),
            4 => self.rt_free(inp),
            5 => self.rt_stop(inp),
            6 => self.rt_run_once(inp),
            7 => self.rt_stop_run(inp),
            8 => self.rt_metrics(inp),
            9 | 10 => self.spawn(inp),
            11 => self.spawn_future(inp),
            12 => self.task_join(inp),
            13 => self.task_poll(inp),
            14 => self.task_on_complete(inp),
            15 => self.task_abort(inp),
            16 => self.task_free(inp),
            17 => self.timer_start(inp),
            18 => self.timer_stop_free(inp),
            19 => self.sleep_new(inp),
            20 => self.sleep_poll(inp),
            21 => self.sleep_free(inp),
            22 => self.cwaker_new(inp),
            23 => self.cwaker_use(inp),
            24 => self.stash_use(inp),
            25 => self.comp_new(inp),
            26 => self.comp_complete(inp),
            27 => self.comp_wait(inp),
            28 => self.comp_poll(inp),
            29 => self.comp_free(inp),
            30 => self.queue_new(inp),
            31 => self.queue_post(inp),
            32 => self.queue_free(inp),
            33 => self.fd_new(inp),
            34 => self.fd_io(inp),
            35 => self.fd_close(inp),
            36 => self.watch(inp),
            37 => self.watch_ctl(inp),
            38 => self.register(inp),
            39 => self.reg_use(inp),
            40 => self.hostile_null(inp),
            41 => self.hostile_fd(inp),
            42 => self.strings(inp),
            _ => self.work(inp),
        }
    }

    // ---- runtimes ----

    fn rt_new(&mut self, inp: &mut Input) {
        let i = inp.idx(NRT);
        let b = inp.byte();
        if self.rts[i].is_some() {
            return;
        }
        let mut cfg = std::mem::MaybeUninit::<rt_config>::uninit();
        // SAFETY: writable rt_config storage; rt_config_init fills it all.
        let mut cfg = unsafe {
            rt_config_init(cfg.as_mut_ptr());
            cfg.assume_init()
        };
        let current = b & 1 == 1;
        cfg.flavor = if current {
            RT_FLAVOR_CURRENT_THREAD
        } else {
            RT_FLAVOR_MULTI_THREAD
        };
        cfg.worker_threads = 1 + (b as u32 >> 1) % 2;
        cfg.max_blocking_threads = 1 + (b as u32 >> 2) % 2;
        cfg.keep_alive_ms = 1 + (b as u64 >> 3) % 3;
        if b & 0x40 != 0 {
            cfg.thread_name = c"fz-worker".as_ptr();
        }
        let mut out = null_mut();
        // SAFETY: a valid config and a writable out.
        let st = unsafe { rt_runtime_new(&cfg, &mut out) };
        expect(st, &[RT_OK], "rt_runtime_new");
        check(!out.is_null(), || "rt_runtime_new gave NULL".into());
        self.next_rt_id += 1;
        self.rts[i] = Some(Rt {
            ptr: out,
            info: Rc::new(RtInfo {
                shut: Cell::new(false),
                freed: Cell::new(false),
                current,
                id: self.next_rt_id,
            }),
            workers: if current { 1 } else { cfg.worker_threads },
        });
    }

    fn rt_new_hostile(&mut self, inp: &mut Input) {
        let b = inp.byte();
        let mut cfg = std::mem::MaybeUninit::<rt_config>::uninit();
        // SAFETY: as in rt_new.
        let mut cfg = unsafe {
            rt_config_init(cfg.as_mut_ptr());
            cfg.assume_init()
        };
        // SAFETY (all calls below): NULL or valid pointers, per the API.
        let sentinel = 0x7777usize as *mut rt_runtime;
        let mut out = sentinel;
        let (st, allowed): (rt_status, &[rt_status]) = match b % 5 {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            0 => (unsafe { rt_runtime_new(&cfg, null_mut()) }, &[RT_ERR_NULL]),
            1 => {
                cfg.flavor = 2 + b as u32;
                // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
                (unsafe { rt_runtime_new(&cfg, &mut out) }, &[RT_ERR_INVALID])
            }
            2 => {
                cfg.reserved0 = 1;
                // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
                (unsafe { rt_runtime_new(&cfg, &mut out) }, &[RT_ERR_INVALID])
            }
            3 => {
                cfg.reserved[(b as usize >> 3) % 8] = 1 + b as u64;
                // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
                (unsafe { rt_runtime_new(&cfg, &mut out) }, &[RT_ERR_INVALID])
            }
            _ => {
                cfg.thread_name = c"bad\xff\xfe".as_ptr();
                // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
                (unsafe { rt_runtime_new(&cfg, &mut out) }, &[RT_ERR_INVALID])
            }
        };
        expect(st, allowed, "rt_runtime_new");
        check(out == sentinel, || {
            "rt_runtime_new wrote *out on failure".into()
        });
        // SAFETY: NULL config means defaults; NULL out is refused.
        let st = unsafe { rt_runtime_new(std::ptr::null(), null_mut()) };
        expect(st, &[RT_ERR_NULL], "rt_runtime_new");
        // SAFETY: NULL is ignored.
        unsafe { rt_config_init(null_mut()) };
    }

    fn rt_shutdown(&mut self, inp: &mut Input) {
        let i = inp.idx(NRT);
        let t = match inp.byte() % 4 {
            0 => 0,
            1 => 1,
            2 => 50,
            _ => RT_FOREVER,
        };
        let Some(r) = self.rt(i) else { return };
        // SAFETY: live runtime.
        let st = unsafe { rt_runtime_shutdown(r.ptr, t) };
        let allowed: &[rt_status] = if t == RT_FOREVER {
            &[RT_OK]
        } else {
            &[RT_OK, RT_ERR_TIMEOUT]
        };
        expect(st, allowed, "rt_runtime_shutdown");
        r.info.shut.set(true);
    }

    fn rt_free(&mut self, inp: &mut Input) {
        let i = inp.idx(NRT);
        if let Some(r) = self.rts[i].take() {
            // SAFETY: live runtime, not used again.
            unsafe { rt_runtime_free(r.ptr) };
            r.info.shut.set(true);
            r.info.freed.set(true);
            self.claims.retain(|c| c.0 != r.info.id);
        }
    }

    fn rt_stop(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let twice = inp.byte() & 1 == 1;
        let want = shut_or(&info, if info.current { RT_OK } else { RT_ERR_INVALID });
        for _ in 0..=(twice as u8) {
            // SAFETY: live runtime.
            let st = unsafe { rt_runtime_stop(rt) };
            expect(st, &[want], "rt_runtime_stop");
        }
    }

    fn rt_run_once(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let t = (inp.byte() % 2) as u64;
        // SAFETY: live runtime.
        let st = unsafe { rt_runtime_run_once(rt, t) };
        let want = shut_or(&info, if info.current { RT_OK } else { RT_ERR_INVALID });
        expect(st, &[want], "rt_runtime_run_once");
    }

    /// Stop, then `rt_runtime_run` or `rt_runtime_run_once(RT_FOREVER)`:
    /// both must return (the stop was requested first).
    fn rt_stop_run(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let b = inp.byte();
        // SAFETY: live runtime (all calls).
        let st = unsafe { rt_runtime_stop(rt) };
        let want = shut_or(&info, if info.current { RT_OK } else { RT_ERR_INVALID });
        expect(st, &[want], "rt_runtime_stop");
        if b & 1 == 0 {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            let st = unsafe { rt_runtime_run(rt) };
            expect(st, &[want], "rt_runtime_run");
        } else {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            let st = unsafe { rt_runtime_run_once(rt, RT_FOREVER) };
            expect(st, &[want], "rt_runtime_run_once");
        }
    }

    fn rt_metrics(&mut self, inp: &mut Input) {
        let i = inp.idx(NRT);
        let Some(r) = self.rt(i) else { return };
        let mut m = runtime::runtime::rt_metrics {
            reserved: [7; 8],
            ..Default::default()
        };
        // SAFETY: live runtime, writable out.
        let st = unsafe { rt_runtime_metrics(r.ptr, &mut m) };
        expect(st, &[shut_or(&r.info, RT_OK)], "rt_runtime_metrics");
        if st == RT_OK {
            check(
                m.num_workers == r.workers as u64 && m.reserved == [0; 8],
                || {
                    format!(
                        "metrics: {} workers (configured {}), reserved {:?}",
                        m.num_workers, r.workers, m.reserved
                    )
                },
            );
            check(
                m.num_idle_blocking_threads <= m.num_blocking_threads,
                || "idle > blocking threads".into(),
            );
        }
    }

    // ---- tasks ----

    fn free_task_slot(&mut self, i: usize) {
        if let Some(t) = self.tasks[i].take() {
            // SAFETY: live handle, not used again.
            unsafe { rt_task_free(t.ptr) };
        }
    }

    fn spawn(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let i = inp.idx(NTASK);
        let b = inp.byte();
        let c = inp.idx(NSMALL);
        let blocking = b & 0x10 != 0;
        let detached = b & 0x20 != 0;
        let no_drop = b & 0x40 != 0 && b & 3 == 0;
        let mut p = payload(b & 3);
        p.rt = rt;
        p.blocking = blocking;
        p.current = info.current;
        if let Some(comp) = self.comps[c].as_mut() {
            // SAFETY: live completion; the clone is owned by the payload.
            p.comp = unsafe { rt_completion_clone(comp.ptr) };
            comp.shared = true;
        }
        let kind = p.kind;
        let arg = hand_over(p);
        if !detached {
            self.free_task_slot(i);
        }
        let mut out = null_mut();
        let outp = if detached {
            null_mut()
        } else {
            &mut out as *mut _
        };
        let drop_fn = if no_drop {
            None
        } else {
            Some(drop_payload as unsafe extern "C" fn(*mut c_void))
        };
        // SAFETY: live runtime; the payload is handed over.
        let st = unsafe {
            if blocking {
                rt_spawn_blocking(rt, Some(task_fn), arg, drop_fn, outp)
            } else {
                rt_spawn(rt, Some(task_fn), arg, drop_fn, outp)
            }
        };
        let func = if blocking {
            "rt_spawn_blocking"
        } else {
            "rt_spawn"
        };
        expect(st, &[shut_or(&info, RT_OK)], func);
        if st != RT_OK || no_drop {
            // Refused (still ours), or handed without a drop_arg (the
            // runtime never frees it). For the latter the body may still
            // be running: free it only after the runtime is gone.
            if st != RT_OK {
                // SAFETY: refused, so still ours.
                unsafe { take_back(arg) };
            } else {
                NO_DROP.lock().unwrap().push(arg as usize);
            }
        }
        if st == RT_OK && !detached {
            self.tasks[i] = Some(Task {
                ptr: out,
                rt: info,
                consumed: false,
                has_oc: false,
                result: tag(kind) as usize,
            });
        }
    }

    fn spawn_future(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let i = inp.idx(NTASK);
        let b = inp.byte();
        let c = inp.idx(NSMALL);
        let kind = b % 5;
        let mut p = payload(kind);
        p.rt = rt;
        if kind == 3 {
            if let Some(comp) = self.comps[c].as_ref() {
                // SAFETY: live completion; the clone belongs to the state.
                p.comp = unsafe { rt_completion_clone(comp.ptr) };
            }
        }
        if kind == 4 {
            let mut s = null_mut();
            // SAFETY: live runtime, writable out.
            let st = unsafe { rt_sleep_new(rt, delay(b >> 3), &mut s) };
            expect(st, &[shut_or(&info, RT_OK)], "rt_sleep_new");
            p.sleep = s;
        }
        let state = hand_over(p);
        let detached = b & 0x80 != 0;
        if !detached {
            self.free_task_slot(i);
        }
        let mut out = null_mut();
        let outp = if detached {
            null_mut()
        } else {
            &mut out as *mut _
        };
        // SAFETY: live runtime; the state is handed over.
        let st = unsafe { rt_spawn_future(rt, Some(poll_fn), state, Some(drop_payload), outp) };
        expect(st, &[shut_or(&info, RT_OK)], "rt_spawn_future");
        if st != RT_OK {
            // SAFETY: refused, so still ours.
            unsafe { take_back(state) };
        } else if !detached {
            self.tasks[i] = Some(Task {
                ptr: out,
                rt: info,
                consumed: false,
                has_oc: false,
                result: tag(kind) as usize,
            });
        }
    }

    fn task_join(&mut self, inp: &mut Input) {
        let i = inp.idx(NTASK);
        let b = inp.byte();
        let Some(t) = self.tasks[i].as_mut() else {
            return;
        };
        // SAFETY: live handle.
        let finished = unsafe { rt_task_is_finished(t.ptr) };
        // RT_FOREVER only where the answer is due at once (or very soon:
        // a shut-down runtime's last blocking body finishing).
        let timeout = match b % 3 {
            0 => 0,
            1 => 1,
            _ if finished || t.rt.shut.get() => RT_FOREVER,
            _ => 0,
        };
        let mut res = std::ptr::dangling_mut::<c_void>();
        // SAFETY: live handle, writable result.
        let st = unsafe { rt_task_join(t.ptr, timeout, &mut res) };
        if t.consumed {
            expect(st, &[RT_ERR_INVALID], "rt_task_join");
            check(res.is_null(), || {
                "rt_task_join left *result set on failure".into()
            });
            return;
        }
        let mut allowed = vec![RT_OK, RT_ERR_CANCELLED, RT_ERR_SHUTDOWN];
        if !finished && timeout != RT_FOREVER {
            allowed.push(RT_ERR_TIMEOUT);
        }
        expect(st, &allowed, "rt_task_join");
        let want = if st == RT_OK { t.result } else { 0 };
        check(res as usize == want, || {
            format!("rt_task_join result {res:?} ({st:?}), expected {want:#x}")
        });
        if st != RT_ERR_TIMEOUT {
            t.consumed = true;
            // SAFETY: live handle.
            check(unsafe { rt_task_is_finished(t.ptr) }, || {
                "joined task not finished".into()
            });
        }
    }

    fn task_poll(&mut self, inp: &mut Input) {
        let i = inp.idx(NTASK);
        let w = self.cwakers[inp.idx(NSMALL)];
        let Some(t) = self.tasks[i].as_mut() else {
            return;
        };
        let mut st = RT_ERR_IO;
        let mut res = std::ptr::dangling_mut::<c_void>();
        // SAFETY: live handle, a live or NULL waker, writable outs.
        let r = unsafe { rt_task_poll(t.ptr, w.unwrap_or(null_mut()), &mut st, &mut res) };
        if w.is_none() {
            check(r == rt_poll::RT_READY && st == RT_ERR_NULL, || {
                format!("rt_task_poll(NULL waker): {r:?} {st:?}")
            });
            check_last_error("rt_task_poll");
            return;
        }
        if r == rt_poll::RT_PENDING {
            check(!t.consumed, || {
                "rt_task_poll pending after the outcome was consumed".into()
            });
            return;
        }
        if t.consumed {
            st_in(st, &[RT_ERR_INVALID], "rt_task_poll status");
            return;
        }
        st_in(
            st,
            &[RT_OK, RT_ERR_CANCELLED, RT_ERR_SHUTDOWN],
            "rt_task_poll status",
        );
        let want = if st == RT_OK { t.result } else { 0 };
        check(res as usize == want, || {
            format!("rt_task_poll result {res:?} ({st:?}), expected {want:#x}")
        });
        t.consumed = true;
    }

    fn task_on_complete(&mut self, inp: &mut Input) {
        let i = inp.idx(NTASK);
        let Some(t) = self.tasks[i].as_mut() else {
            return;
        };
        let arg = Box::into_raw(Box::new(t.result)).cast::<c_void>();
        OC_REGISTERED.fetch_add(1, SeqCst);
        // SAFETY: live handle; `arg` is freed by complete_cb.
        let st = unsafe { rt_task_on_complete(t.ptr, Some(complete_cb), arg) };
        expect(
            st,
            &[if t.has_oc { RT_ERR_INVALID } else { RT_OK }],
            "rt_task_on_complete",
        );
        if st != RT_OK {
            OC_REGISTERED.fetch_sub(1, SeqCst);
            // SAFETY: refused, so still ours.
            drop(unsafe { Box::from_raw(arg.cast::<usize>()) });
        }
        t.has_oc = true;
    }

    fn task_abort(&mut self, inp: &mut Input) {
        let i = inp.idx(NTASK);
        let Some(t) = self.tasks[i].as_ref() else {
            return;
        };
        // SAFETY: live handle.
        let st = unsafe { rt_task_abort(t.ptr) };
        expect(st, &[shut_or(&t.rt, RT_OK)], "rt_task_abort");
    }

    fn task_free(&mut self, inp: &mut Input) {
        let i = inp.idx(NTASK);
        self.free_task_slot(i);
    }

    // ---- timers and sleeps ----

    fn timer_start(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let on_queue = b & 0x80 != 0;
        let Some((rt, info, q)) = self.pick_rt_or_queue(inp, on_queue) else {
            return;
        };
        let detached = b & 0x40 != 0;
        if !detached {
            self.clear_timer_own(i);
            if let Some(t) = self.timers[i].take() {
                // SAFETY: live handle.
                unsafe { rt_timer_free(t.ptr) };
            }
        }
        let d = delay(b);
        let repeat = ((b >> 3) % 3) as u64;
        let mut p = payload(0);
        let own =
            (!detached && repeat != 0 && b & 4 != 0).then(|| Arc::new(AtomicPtr::new(null_mut())));
        p.own = own.clone();
        let arg = hand_over(p);
        let mut out: *mut rt_timer = null_mut();
        let outp = if detached {
            null_mut()
        } else {
            &mut out as *mut _
        };
        // SAFETY: a live runtime or queue; the payload is handed over.
        let st = unsafe {
            if on_queue {
                rt_timer_start_on(q, d, repeat, Some(timer_cb), arg, Some(drop_payload), outp)
            } else {
                rt_timer_start(rt, d, repeat, Some(timer_cb), arg, Some(drop_payload), outp)
            }
        };
        let func = if on_queue {
            "rt_timer_start_on"
        } else {
            "rt_timer_start"
        };
        expect(st, &[shut_or(&info, RT_OK)], func);
        if st != RT_OK {
            // SAFETY: refused, so still ours.
            unsafe { take_back(arg) };
        } else if !detached {
            if let Some(own) = own {
                own.store(out.cast(), SeqCst);
                self.timer_own[i] = Some(own);
            }
            self.timers[i] = Some(Obj { ptr: out, rt: info });
        }
    }

    /// Clears timers[i]'s self-handle cell before the handle is freed.
    fn clear_timer_own(&mut self, i: usize) {
        if let Some(c) = self.timer_own[i].take() {
            c.store(null_mut(), SeqCst);
        }
    }

    fn timer_stop_free(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let Some(t) = self.timers[i].as_ref() else {
            return;
        };
        if b & 1 == 0 {
            for _ in 0..=(b >> 1 & 1) {
                // SAFETY: live handle.
                let st = unsafe { rt_timer_stop(t.ptr) };
                let allowed: &[rt_status] = if t.rt.shut.get() {
                    &[RT_OK, RT_ERR_SHUTDOWN]
                } else {
                    &[RT_OK]
                };
                expect(st, allowed, "rt_timer_stop");
            }
        } else {
            self.clear_timer_own(i);
            let t = self.timers[i].take().unwrap();
            // SAFETY: live handle, not used again.
            unsafe { rt_timer_free(t.ptr) };
        }
    }

    fn sleep_new(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let i = inp.idx(NSMALL);
        let d = delay(inp.byte());
        let mut out = null_mut();
        // SAFETY: live runtime, writable out.
        let st = unsafe { rt_sleep_new(rt, d, &mut out) };
        expect(st, &[shut_or(&info, RT_OK)], "rt_sleep_new");
        if st == RT_OK {
            if let Some(old) = self.sleeps[i].replace(Obj { ptr: out, rt: info }) {
                // SAFETY: live handle, replaced.
                unsafe { rt_sleep_free(old.ptr) };
            }
        }
    }

    fn sleep_poll(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let w = self.cwakers[inp.idx(NSMALL)];
        let Some(s) = self.sleeps[i].as_ref() else {
            return;
        };
        // SAFETY: live sleep, live or NULL waker.
        let r = unsafe { rt_sleep_poll(s.ptr, w.unwrap_or(null_mut())) };
        if w.is_none() || s.rt.shut.get() {
            check(r == rt_poll::RT_READY, || {
                "rt_sleep_poll must be READY on NULL waker / after shutdown".into()
            });
            check_last_error("rt_sleep_poll");
        }
    }

    fn sleep_free(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        if let Some(s) = self.sleeps[i].take() {
            // SAFETY: live handle, not used again.
            unsafe { rt_sleep_free(s.ptr) };
        }
    }

    // ---- wakers ----

    fn cwaker_new(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        if b & 7 == 7 {
            // No wake function: refused, drop_data not called.
            let data = hand_over(payload(0));
            // SAFETY: refused, nothing retained.
            let w = unsafe { rt_waker_new(data, None, Some(drop_payload)) };
            check(w.is_null(), || {
                "rt_waker_new(NULL wake) gave a waker".into()
            });
            check_last_error("rt_waker_new");
            // SAFETY: refused, so still ours.
            unsafe { take_back(data) };
            return;
        }
        let data = hand_over(payload(0));
        // SAFETY: thread-safe callbacks; data handed over.
        let w = unsafe { rt_waker_new(data, Some(cwake), Some(drop_payload)) };
        check(!w.is_null(), || "rt_waker_new gave NULL".into());
        if let Some(old) = self.cwakers[i].replace(w) {
            // SAFETY: owned waker, replaced.
            unsafe { rt_waker_free(old) };
        }
    }

    fn cwaker_use(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let Some(w) = self.cwakers[i] else { return };
        // SAFETY: `w` is an owned live waker; each branch keeps the table
        // consistent with what it consumed.
        unsafe {
            match b % 4 {
                0 => {
                    let c = rt_waker_clone(w);
                    check(!c.is_null(), || "rt_waker_clone gave NULL".into());
                    let j = inp.idx(NSMALL);
                    if let Some(old) = self.cwakers[j].replace(c) {
                        if j == i {
                            // `old` is `w`; keep the clone in its place.
                        }
                        rt_waker_free(old);
                    }
                }
                1 => rt_waker_wake_by_ref(w),
                2 => {
                    rt_waker_wake(w);
                    self.cwakers[i] = None;
                }
                _ => {
                    rt_waker_free(w);
                    self.cwakers[i] = None;
                }
            }
        }
    }

    fn stash_use(&mut self, inp: &mut Input) {
        let b = inp.byte();
        let w = {
            let mut s = STASH.lock().unwrap();
            if s.is_empty() {
                return;
            }
            let k = b as usize % s.len();
            if b & 0x80 != 0 {
                // wake_by_ref keeps it in the stash.
                let w = s[k] as *mut rt_waker;
                drop(s);
                // SAFETY: an owned live waker in the stash (only this
                // thread removes entries).
                unsafe { rt_waker_wake_by_ref(w) };
                return;
            }
            s.swap_remove(k) as *mut rt_waker
        };
        // SAFETY: an owned waker removed from the stash; consumed once.
        unsafe {
            if b & 1 == 0 {
                rt_waker_wake(w)
            } else {
                rt_waker_free(w)
            }
        }
    }

    // ---- completions ----

    fn comp_new(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let c = match self.comps.iter().flatten().next() {
            Some(src) if b & 1 == 1 => {
                // SAFETY: live reference.
                let c = unsafe { rt_completion_clone(src.ptr) };
                check(!c.is_null(), || "rt_completion_clone gave NULL".into());
                Comp {
                    ptr: c,
                    done: src.done,
                    shared: true,
                }
            }
            _ => {
                let mut out = null_mut();
                // SAFETY: writable out.
                let st = unsafe { rt_completion_new(&mut out) };
                expect(st, &[RT_OK], "rt_completion_new");
                Comp {
                    ptr: out,
                    done: false,
                    shared: false,
                }
            }
        };
        if let Some(old) = self.comps[i].replace(c) {
            // SAFETY: live reference, replaced.
            unsafe { rt_completion_free(old.ptr) };
        }
        // Clones of one completion share its state: track `shared`
        // conservatively by marking all clones as possibly completed by
        // someone else.
        if b & 1 == 1 {
            for c in self.comps.iter_mut().flatten() {
                c.shared = true;
            }
        }
    }

    fn comp_complete(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let Some(c) = self.comps[i].as_mut() else {
            return;
        };
        // SAFETY: live reference.
        let st = unsafe { rt_completion_complete(c.ptr, tag(9)) };
        let allowed: &[rt_status] = if c.done {
            &[RT_ERR_INVALID]
        } else if c.shared {
            &[RT_OK, RT_ERR_INVALID]
        } else {
            &[RT_OK]
        };
        expect(st, allowed, "rt_completion_complete");
        c.done = true;
    }

    fn comp_wait(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let Some(c) = self.comps[i].as_mut() else {
            return;
        };
        let t = match b % 3 {
            0 => 0,
            1 => 1,
            _ if c.done => RT_FOREVER,
            _ => 0,
        };
        let mut v = null_mut();
        // SAFETY: live reference, writable out.
        let st = unsafe { rt_completion_wait(c.ptr, t, &mut v) };
        let allowed: &[rt_status] = if c.done {
            &[RT_OK]
        } else {
            &[RT_OK, RT_ERR_TIMEOUT]
        };
        expect(st, allowed, "rt_completion_wait");
        if st == RT_OK {
            check(v == tag(9) || v == tag(1), || {
                format!("completion value {v:?}")
            });
            c.done = true;
        }
    }

    fn comp_poll(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let w = self.cwakers[inp.idx(NSMALL)];
        let Some(c) = self.comps[i].as_mut() else {
            return;
        };
        let mut v = std::ptr::dangling_mut::<c_void>();
        // SAFETY: live reference, live or NULL waker, writable out.
        let r = unsafe { rt_completion_poll(c.ptr, w.unwrap_or(null_mut()), &mut v) };
        if w.is_none() {
            check(r == rt_poll::RT_READY && v.is_null(), || {
                "rt_completion_poll(NULL waker)".into()
            });
            check_last_error("rt_completion_poll");
        } else if r == rt_poll::RT_READY {
            check(v == tag(9) || v == tag(1), || {
                format!("completion value {v:?}")
            });
            c.done = true;
        } else {
            check(!c.done, || "completed completion polled PENDING".into());
        }
    }

    fn comp_free(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        if let Some(c) = self.comps[i].take() {
            // SAFETY: live reference, released.
            unsafe { rt_completion_free(c.ptr) };
        }
    }

    // ---- queues ----

    fn queue_new(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let i = inp.idx(NSMALL);
        let mut out = null_mut();
        // SAFETY: live runtime, writable out.
        let st = unsafe { rt_queue_new(rt, &mut out) };
        expect(st, &[shut_or(&info, RT_OK)], "rt_queue_new");
        if st == RT_OK {
            if let Some(old) = self.queues[i].replace(Obj { ptr: out, rt: info }) {
                // SAFETY: live reference, replaced.
                unsafe { rt_queue_free(old.ptr) };
            }
        }
    }

    fn queue_post(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let n = 1 + inp.byte() % 3;
        let Some(q) = self.queues[i].as_ref() else {
            return;
        };
        for _ in 0..n {
            let arg = hand_over(payload(0));
            // SAFETY: live queue; the payload is handed over.
            let st = unsafe { rt_queue_post(q.ptr, Some(timer_cb), arg, Some(drop_payload)) };
            expect(st, &[shut_or(&q.rt, RT_OK)], "rt_queue_post");
            if st != RT_OK {
                // SAFETY: refused, so still ours.
                unsafe { take_back(arg) };
            }
        }
    }

    fn queue_free(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        if let Some(q) = self.queues[i].take() {
            // SAFETY: live reference, released.
            unsafe { rt_queue_free(q.ptr) };
        }
    }

    // ---- fds ----

    fn fd_new(&mut self, inp: &mut Input) {
        let i = inp.idx(3);
        let b = inp.byte();
        if self.fds[i].is_some() {
            return;
        }
        let res = if b & 1 == 0 {
            let mut p = [0 as c_int; 2];
            // SAFETY: `p` is writable for two fds.
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
                return;
            }
            FdRes {
                r: p[0],
                w: p[1],
                eventfd: false,
            }
        } else {
            // SAFETY: plain syscall.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                return;
            }
            FdRes {
                r: fd,
                w: fd,
                eventfd: true,
            }
        };
        self.fds[i] = Some(res);
    }

    fn fd_io(&mut self, inp: &mut Input) {
        let i = inp.idx(3);
        let b = inp.byte();
        let Some(f) = self.fds[i].as_ref() else {
            return;
        };
        let one = 1u64.to_ne_bytes();
        let mut buf = [0u8; 64];
        // SAFETY: open fds of ours; valid buffers.
        unsafe {
            if b & 1 == 0 {
                let n = if f.eventfd { 8 } else { 1 };
                let _ = libc::write(f.w, one.as_ptr().cast(), n);
            } else {
                let _ = libc::read(f.r, buf.as_mut_ptr().cast(), buf.len());
            }
        }
    }

    fn fd_claimed(&self, fd: c_int) -> bool {
        self.claims.iter().any(|c| c.1 == fd)
    }

    fn fd_close(&mut self, inp: &mut Input) {
        let i = inp.idx(3);
        let Some(f) = self.fds[i].as_ref() else {
            return;
        };
        // A caller rule: never close an fd with a live watch/registration.
        if self.fd_claimed(f.r) || self.fd_claimed(f.w) {
            return;
        }
        let f = self.fds[i].take().unwrap();
        // SAFETY: our fds, closed once.
        unsafe {
            libc::close(f.r);
            if !f.eventfd {
                libc::close(f.w);
            }
        }
    }

    /// Picks an fd of the tables (read end, or write end of a pipe).
    fn pick_fd(&self, inp: &mut Input) -> Option<c_int> {
        let i = inp.idx(3);
        let w = inp.byte() & 1 == 1;
        self.fds[i].as_ref().map(|f| if w { f.w } else { f.r })
    }

    fn watch(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let on_queue = b & 0x80 != 0;
        let Some((rt, info, q)) = self.pick_rt_or_queue(inp, on_queue) else {
            return;
        };
        let Some(fd) = self.pick_fd(inp) else { return };
        let interest = interest(inp.byte());
        let detached = b & 0x40 != 0;
        if !detached {
            self.free_watch(i);
        }
        let claimed = self.claims.contains(&(info.id, fd));
        let mut allowed = vec![];
        if info.shut.get() {
            allowed.push(RT_ERR_SHUTDOWN);
        }
        if !interest_valid(interest) || claimed {
            allowed.push(RT_ERR_INVALID);
        }
        if allowed.is_empty() {
            allowed.push(RT_OK);
        }
        let mut p = payload(0);
        let own = (!detached && b & 4 != 0).then(|| Arc::new(AtomicPtr::new(null_mut())));
        p.own = own.clone();
        let arg = hand_over(p);
        let mut out: *mut rt_watch = null_mut();
        let outp = if detached {
            null_mut()
        } else {
            &mut out as *mut _
        };
        // SAFETY: live runtime/queue, an open fd of ours, the payload
        // handed over.
        let st = unsafe {
            if on_queue {
                rt_fd_watch_on(
                    q,
                    fd,
                    interest,
                    Some(watch_cb),
                    arg,
                    Some(drop_payload),
                    outp,
                )
            } else {
                rt_fd_watch(
                    rt,
                    fd,
                    interest,
                    Some(watch_cb),
                    arg,
                    Some(drop_payload),
                    outp,
                )
            }
        };
        expect(
            st,
            &allowed,
            if on_queue {
                "rt_fd_watch_on"
            } else {
                "rt_fd_watch"
            },
        );
        if st != RT_OK {
            // SAFETY: refused, so still ours.
            unsafe { take_back(arg) };
            return;
        }
        // A detached watch keeps its claim until shutdown.
        self.claims.push((info.id, fd));
        if !detached {
            if let Some(own) = own {
                own.store(out.cast(), SeqCst);
                self.watch_own[i] = Some(own);
            }
            self.watches[i] = Some(Watch {
                ptr: out,
                rt: info,
                fd,
                stopped: false,
            });
        }
    }

    fn unclaim(&mut self, rt: &RtInfo, fd: c_int) {
        if let Some(k) = self.claims.iter().position(|c| *c == (rt.id, fd)) {
            self.claims.swap_remove(k);
        }
    }

    fn free_watch(&mut self, i: usize) {
        if let Some(c) = self.watch_own[i].take() {
            c.store(null_mut(), SeqCst);
        }
        if let Some(w) = self.watches[i].take() {
            // SAFETY: live handle, not used again.
            unsafe { rt_watch_free(w.ptr) };
            if !w.stopped {
                self.unclaim(&w.rt.clone(), w.fd);
            }
        }
    }

    fn watch_ctl(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let Some(w) = self.watches[i].as_mut() else {
            return;
        };
        match b % 3 {
            0 => {
                let int = interest(b >> 2);
                // SAFETY: live handle.
                let st = unsafe { rt_watch_set_interest(w.ptr, int) };
                let allowed: Vec<rt_status> = if w.stopped {
                    vec![RT_OK, RT_ERR_INVALID, RT_ERR_SHUTDOWN]
                } else if !interest_valid(int) {
                    vec![RT_ERR_INVALID, RT_ERR_SHUTDOWN]
                } else {
                    vec![shut_or(&w.rt, RT_OK)]
                };
                expect(st, &allowed, "rt_watch_set_interest");
            }
            1 => {
                // SAFETY: live handle.
                let st = unsafe { rt_watch_stop(w.ptr) };
                let allowed: &[rt_status] = if w.rt.shut.get() {
                    &[RT_OK, RT_ERR_SHUTDOWN]
                } else {
                    &[RT_OK]
                };
                expect(st, allowed, "rt_watch_stop");
                if !w.stopped {
                    w.stopped = true;
                    let (rt, fd) = (w.rt.clone(), w.fd);
                    self.unclaim(&rt, fd);
                }
            }
            _ => self.free_watch(i),
        }
    }

    fn register(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let i = inp.idx(NSMALL);
        let Some(fd) = self.pick_fd(inp) else { return };
        if let Some(r) = self.regs[i].take() {
            // SAFETY: live handle, not used again.
            unsafe { rt_fd_free(r.ptr) };
            self.unclaim(&r.rt, r.fd);
        }
        let claimed = self.claims.contains(&(info.id, fd));
        let mut allowed = vec![];
        if info.shut.get() {
            allowed.push(RT_ERR_SHUTDOWN);
        }
        if claimed {
            allowed.push(RT_ERR_INVALID);
        }
        if allowed.is_empty() {
            allowed.push(RT_OK);
        }
        let mut out = null_mut();
        // SAFETY: live runtime, an open fd, writable out.
        let st = unsafe { rt_fd_register(rt, fd, &mut out) };
        expect(st, &allowed, "rt_fd_register");
        if st == RT_OK {
            self.claims.push((info.id, fd));
            self.regs[i] = Some(Reg {
                ptr: out,
                rt: info,
                fd,
            });
        }
    }

    fn reg_use(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let w = self.cwakers[inp.idx(NSMALL)];
        let Some(r) = self.regs[i].as_ref() else {
            return;
        };
        match b % 3 {
            0 => {
                let int = interest(b >> 2);
                let mut ready = 0xFFFF_0000u32;
                // SAFETY: live registration, live or NULL waker.
                let p =
                    unsafe { rt_fd_poll_ready(r.ptr, int, w.unwrap_or(null_mut()), &mut ready) };
                if w.is_none() || !interest_valid(int) || r.rt.shut.get() {
                    check(p == rt_poll::RT_READY && ready == RT_ERROR, || {
                        format!("rt_fd_poll_ready on bad args/after shutdown: {p:?} {ready:#x}")
                    });
                    check_last_error("rt_fd_poll_ready");
                } else if p == rt_poll::RT_READY {
                    check(ready != 0 && ready & !0xF == 0, || {
                        format!("rt_fd_poll_ready bits {ready:#x}")
                    });
                }
            }
            1 => {
                // SAFETY: live registration; unknown bits are ignored.
                unsafe { rt_fd_clear_ready(r.ptr, (b >> 2) as u32) };
            }
            _ => {
                let r = self.regs[i].take().unwrap();
                // SAFETY: live handle, not used again.
                unsafe { rt_fd_free(r.ptr) };
                self.unclaim(&r.rt, r.fd);
            }
        }
    }

    // ---- hostile arguments ----

    fn hostile_null(&mut self, inp: &mut Input) {
        let b = inp.byte();
        let rt = self.rt(inp.idx(NRT)).map(|r| r.ptr);
        // SAFETY: every pointer is NULL or live; the API must refuse NULL.
        unsafe {
            match b % 12 {
                0 => expect(
                    rt_spawn(null_mut(), Some(task_fn), null_mut(), None, null_mut()),
                    &[RT_ERR_NULL],
                    "rt_spawn",
                ),
                1 => {
                    if let Some(rt) = rt {
                        let st = rt_spawn(rt, None, null_mut(), Some(drop_payload), null_mut());
                        expect(st, &[RT_ERR_NULL], "rt_spawn");
                        let st =
                            rt_spawn_future(rt, None, null_mut(), Some(drop_payload), null_mut());
                        expect(st, &[RT_ERR_NULL], "rt_spawn_future");
                        let st = rt_timer_start(
                            rt,
                            0,
                            0,
                            None,
                            null_mut(),
                            Some(drop_payload),
                            null_mut(),
                        );
                        expect(st, &[RT_ERR_NULL], "rt_timer_start");
                        let st = rt_sleep_new(rt, 0, null_mut());
                        expect(st, &[RT_ERR_NULL], "rt_sleep_new");
                        let st = rt_queue_new(rt, null_mut());
                        expect(st, &[RT_ERR_NULL], "rt_queue_new");
                        let st = rt_fd_register(rt, 0, null_mut());
                        expect(
                            st,
                            &[RT_ERR_NULL, RT_ERR_INVALID, RT_ERR_SHUTDOWN],
                            "rt_fd_register",
                        );
                        let st = rt_runtime_metrics(rt, null_mut());
                        expect(st, &[RT_ERR_NULL, RT_ERR_SHUTDOWN], "rt_runtime_metrics");
                    }
                }
                2 => {
                    expect(
                        rt_task_join(null_mut(), 0, null_mut()),
                        &[RT_ERR_NULL],
                        "rt_task_join",
                    );
                    expect(rt_task_abort(null_mut()), &[RT_ERR_NULL], "rt_task_abort");
                    expect(
                        rt_task_on_complete(null_mut(), Some(complete_cb), null_mut()),
                        &[RT_ERR_NULL],
                        "rt_task_on_complete",
                    );
                    check(!rt_task_is_finished(null_mut()), || {
                        "is_finished(NULL)".into()
                    });
                    let mut st = RT_OK;
                    let r = rt_task_poll(null_mut(), null_mut(), &mut st, null_mut());
                    check(r == rt_poll::RT_READY && st == RT_ERR_NULL, || {
                        "rt_task_poll(NULL)".into()
                    });
                    rt_task_free(null_mut());
                }
                3 => {
                    expect(rt_timer_stop(null_mut()), &[RT_ERR_NULL], "rt_timer_stop");
                    rt_timer_free(null_mut());
                    check(
                        rt_sleep_poll(null_mut(), null_mut()) == rt_poll::RT_READY,
                        || "rt_sleep_poll(NULL)".into(),
                    );
                    rt_sleep_free(null_mut());
                    expect(
                        rt_sleep_new(null_mut(), 0, null_mut()),
                        &[RT_ERR_NULL],
                        "rt_sleep_new",
                    );
                    expect(
                        rt_timer_start(
                            null_mut(),
                            0,
                            0,
                            Some(timer_cb),
                            null_mut(),
                            None,
                            null_mut(),
                        ),
                        &[RT_ERR_NULL],
                        "rt_timer_start",
                    );
                    expect(
                        rt_timer_start_on(
                            null_mut(),
                            0,
                            0,
                            Some(timer_cb),
                            null_mut(),
                            None,
                            null_mut(),
                        ),
                        &[RT_ERR_NULL],
                        "rt_timer_start_on",
                    );
                }
                4 => {
                    expect(
                        rt_completion_new(null_mut()),
                        &[RT_ERR_NULL],
                        "rt_completion_new",
                    );
                    check(rt_completion_clone(null_mut()).is_null(), || {
                        "clone(NULL)".into()
                    });
                    expect(
                        rt_completion_complete(null_mut(), null_mut()),
                        &[RT_ERR_NULL],
                        "rt_completion_complete",
                    );
                    expect(
                        rt_completion_wait(null_mut(), RT_FOREVER, null_mut()),
                        &[RT_ERR_NULL],
                        "rt_completion_wait",
                    );
                    let mut v = std::ptr::dangling_mut::<c_void>();
                    let r = rt_completion_poll(null_mut(), null_mut(), &mut v);
                    check(r == rt_poll::RT_READY && v.is_null(), || {
                        "rt_completion_poll(NULL)".into()
                    });
                    rt_completion_free(null_mut());
                }
                5 => {
                    expect(
                        rt_queue_new(null_mut(), null_mut()),
                        &[RT_ERR_NULL],
                        "rt_queue_new",
                    );
                    expect(
                        rt_queue_post(null_mut(), Some(timer_cb), null_mut(), None),
                        &[RT_ERR_NULL],
                        "rt_queue_post",
                    );
                    rt_queue_free(null_mut());
                    if let Some(q) = self.queues.iter().flatten().next() {
                        expect(
                            rt_queue_post(q.ptr, None, null_mut(), None),
                            &[RT_ERR_NULL],
                            "rt_queue_post",
                        );
                    }
                }
                6 => {
                    expect(
                        rt_runtime_shutdown(null_mut(), 0),
                        &[RT_ERR_NULL],
                        "rt_runtime_shutdown",
                    );
                    expect(rt_runtime_run(null_mut()), &[RT_ERR_NULL], "rt_runtime_run");
                    expect(
                        rt_runtime_run_once(null_mut(), RT_FOREVER),
                        &[RT_ERR_NULL],
                        "rt_runtime_run_once",
                    );
                    expect(
                        rt_runtime_stop(null_mut()),
                        &[RT_ERR_NULL],
                        "rt_runtime_stop",
                    );
                    expect(
                        rt_runtime_metrics(null_mut(), null_mut()),
                        &[RT_ERR_NULL],
                        "rt_runtime_metrics",
                    );
                    rt_runtime_free(null_mut());
                }
                7 => {
                    let st = rt_fd_watch(
                        null_mut(),
                        0,
                        RT_READABLE,
                        Some(watch_cb),
                        null_mut(),
                        None,
                        null_mut(),
                    );
                    expect(st, &[RT_ERR_NULL], "rt_fd_watch");
                    let st = rt_fd_watch_on(
                        null_mut(),
                        0,
                        RT_READABLE,
                        Some(watch_cb),
                        null_mut(),
                        None,
                        null_mut(),
                    );
                    expect(st, &[RT_ERR_NULL], "rt_fd_watch_on");
                    if let Some(rt) = rt {
                        let st =
                            rt_fd_watch(rt, 0, RT_READABLE, None, null_mut(), None, null_mut());
                        expect(
                            st,
                            &[RT_ERR_NULL, RT_ERR_INVALID, RT_ERR_SHUTDOWN],
                            "rt_fd_watch",
                        );
                    }
                    expect(
                        rt_watch_set_interest(null_mut(), RT_READABLE),
                        &[RT_ERR_NULL],
                        "rt_watch_set_interest",
                    );
                    expect(rt_watch_stop(null_mut()), &[RT_ERR_NULL], "rt_watch_stop");
                    rt_watch_free(null_mut());
                    expect(
                        rt_fd_register(null_mut(), 0, null_mut()),
                        &[RT_ERR_NULL],
                        "rt_fd_register",
                    );
                    let mut ready = 0;
                    let r = rt_fd_poll_ready(null_mut(), RT_READABLE, null_mut(), &mut ready);
                    check(r == rt_poll::RT_READY && ready == RT_ERROR, || {
                        "rt_fd_poll_ready(NULL)".into()
                    });
                    rt_fd_clear_ready(null_mut(), RT_READABLE);
                    rt_fd_free(null_mut());
                }
                8 => {
                    check(rt_waker_clone(null_mut()).is_null(), || {
                        "rt_waker_clone(NULL)".into()
                    });
                    rt_waker_wake(null_mut());
                    rt_waker_wake_by_ref(null_mut());
                    rt_waker_free(null_mut());
                    check(rt_waker_new(null_mut(), None, None).is_null(), || {
                        "rt_waker_new(NULL)".into()
                    });
                    check_last_error("rt_waker_new");
                }
                _ => {}
            }
        }
    }

    fn hostile_fd(&mut self, inp: &mut Input) {
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        let b = inp.byte();
        let mut tmp: Option<c_int> = None;
        let fd: c_int = match b % 5 {
            0 => -1 - (b >> 3) as c_int,
            1 => c_int::MAX - (b >> 3) as c_int,
            2 => {
                // An fd closed just now (no other thread opens fds here).
                let mut p = [0 as c_int; 2];
                // SAFETY: writable array; the fds are closed at once.
                unsafe {
                    if libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                        return;
                    }
                    libc::close(p[0]);
                    libc::close(p[1]);
                }
                p[0]
            }
            3 => {
                // A regular file: epoll refuses it.
                // SAFETY: a valid C path.
                let fd = unsafe {
                    libc::open(
                        c"/proc/self/cmdline".as_ptr(),
                        libc::O_RDONLY | libc::O_CLOEXEC,
                    )
                };
                if fd < 0 {
                    return;
                }
                tmp = Some(fd);
                fd
            }
            _ => {
                // Unknown / empty interest bits on a good fd.
                let Some(fd) = self.pick_fd(inp) else { return };
                let int = (0x10u32 << (b >> 5)) | (b as u32 & RT_HANGUP);
                let arg = hand_over(payload(0));
                // SAFETY: live runtime, open fd; refused so `arg` stays ours.
                let st = unsafe {
                    rt_fd_watch(
                        rt,
                        fd,
                        int,
                        Some(watch_cb),
                        arg,
                        Some(drop_payload),
                        null_mut(),
                    )
                };
                expect(st, &[RT_ERR_INVALID, RT_ERR_SHUTDOWN], "rt_fd_watch");
                // SAFETY: refused, so still ours.
                unsafe { take_back(arg) };
                return;
            }
        };
        let bad = if info.shut.get() {
            vec![RT_ERR_INVALID, RT_ERR_SHUTDOWN]
        } else {
            vec![RT_ERR_INVALID]
        };
        let arg = hand_over(payload(0));
        let mut w = null_mut();
        // SAFETY: live runtime; a bad fd must be refused (arg stays ours).
        let st = unsafe {
            rt_fd_watch(
                rt,
                fd,
                RT_READABLE,
                Some(watch_cb),
                arg,
                Some(drop_payload),
                &mut w,
            )
        };
        expect(st, &bad, "rt_fd_watch");
        // SAFETY: refused, so still ours.
        unsafe { take_back(arg) };
        let mut r = null_mut();
        // SAFETY: as above.
        let st = unsafe { rt_fd_register(rt, fd, &mut r) };
        expect(st, &bad, "rt_fd_register");
        if let Some(fd) = tmp {
            // SAFETY: ours.
            unsafe { libc::close(fd) };
        }
    }

    // ---- rt_queue_work ----

    /// Queues, cancels or reaps a work item, calls the work functions with
    /// NULLs, or (most often, as this code did before work items existed)
    /// just lets 200 µs pass.
    fn work(&mut self, inp: &mut Input) {
        match inp.byte() % 8 {
            0 => self.work_queue(inp),
            1 => self.work_cancel(inp),
            2 => {
                let i = inp.idx(NSMALL);
                self.work_reap(i, false);
            }
            3 => self.work_hostile(inp),
            _ => std::thread::sleep(std::time::Duration::from_micros(200)),
        }
    }

    fn work_queue(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        let b = inp.byte();
        let Some((rt, info)) = self.pick_rt(inp) else {
            return;
        };
        if !self.work_reap(i, false) {
            return; // the slot's item is still queued or running
        }
        let mut item = Box::new(WorkItem {
            // SAFETY: rt_work is plain storage that rt_queue_work fills.
            w: unsafe { std::mem::zeroed() },
            magic: LIVE,
            block_us: [0, 0, 50, 1000][b as usize % 4],
            ran: AtomicU32::new(0),
            dones: AtomicU32::new(0),
            status: AtomicI32::new(-1),
            ran_before_done: AtomicBool::new(false),
        });
        // SAFETY: a live runtime; the item's storage is valid, not queued,
        // and kept (boxed, unmoved) until its `done` ran.
        let st = unsafe { rt_queue_work(rt, &mut item.w, Some(work_fn), Some(work_done)) };
        expect(st, &[shut_or(&info, RT_OK)], "rt_queue_work");
        if st != RT_OK {
            check(
                item.dones.load(SeqCst) == 0 && item.ran.load(SeqCst) == 0,
                || "a refused work item was run or finished".into(),
            );
            return;
        }
        self.works[i] = Some(Work {
            item,
            rt: info,
            cancelled: false,
        });
        if b & 0x10 != 0 {
            // Cancel at once: mostly before a pool thread takes it.
            self.work_cancel_slot(i);
        }
    }

    fn work_cancel(&mut self, inp: &mut Input) {
        let i = inp.idx(NSMALL);
        self.work_cancel_slot(i);
    }

    fn work_cancel_slot(&mut self, i: usize) {
        let Some(w) = self.works[i].as_mut() else {
            return;
        };
        let finished = w.item.dones.load(SeqCst) > 0;
        // SAFETY: the item's storage is live (kept past `done`).
        let st = unsafe { rt_work_cancel(&mut w.item.w) };
        let allowed: &[rt_status] = if finished || w.cancelled {
            &[RT_ERR_INVALID]
        } else {
            &[RT_OK, RT_ERR_INVALID]
        };
        expect(st, allowed, "rt_work_cancel");
        if st == RT_OK {
            w.cancelled = true;
        }
    }

    /// Checks and frees slot `i`'s item if its `done` ran (or `force`:
    /// every runtime is gone, so it must have). Returns whether the slot is
    /// free now.
    fn work_reap(&mut self, i: usize, force: bool) -> bool {
        let Some(w) = self.works[i].as_ref() else {
            return true;
        };
        let dones = w.item.dones.load(SeqCst);
        if dones == 0 && !force {
            // rt_runtime_free waits for every `done` when called, as here,
            // from outside the runtime's callbacks (from inside one it
            // hands the shutdown to a helper thread and returns at once).
            check(!w.rt.freed.get(), || {
                "no done for a work item of a freed runtime".into()
            });
            return false;
        }
        check(dones == 1, || {
            format!("work item finished with {dones} done calls")
        });
        let st = w.item.status.load(SeqCst);
        let ran = w.item.ran.load(SeqCst);
        check(
            ran == w.item.ran_before_done.load(SeqCst) as u32 && ran <= 1,
            || {
                format!(
                    "work ran {ran} times (done saw it: {:?})",
                    w.item.ran_before_done
                )
            },
        );
        let ok = if ran == 1 {
            st == RT_OK as i32
        } else if w.cancelled {
            st == RT_ERR_CANCELLED as i32
        } else {
            st == RT_ERR_CANCELLED as i32 || st == RT_ERR_SHUTDOWN as i32
        };
        check(ok, || {
            format!(
                "work item done status {st} (ran {ran}, cancelled {})",
                w.cancelled
            )
        });
        // After `done`, a cancel is refused (the storage is still ours).
        let mut w = self.works[i].take().unwrap();
        // SAFETY: the storage is live; the item is finished.
        let st = unsafe { rt_work_cancel(&mut w.item.w) };
        expect(st, &[RT_ERR_INVALID], "rt_work_cancel");
        w.item.magic = DEAD;
        true
    }

    fn work_hostile(&mut self, inp: &mut Input) {
        let b = inp.byte();
        let rt = self.pick_rt(inp).map_or(null_mut(), |r| r.0);
        // SAFETY: rt_work is plain storage.
        let mut w: rt_work = unsafe { std::mem::zeroed() };
        // SAFETY: each call passes at least one NULL, which the function
        // refuses before touching anything else; `rt` is live or NULL.
        let (st, func) = unsafe {
            match b % 5 {
                0 => (
                    rt_queue_work(null_mut(), &mut w, Some(work_fn), Some(work_done)),
                    "rt_queue_work",
                ),
                1 if !rt.is_null() => (
                    rt_queue_work(rt, null_mut(), Some(work_fn), Some(work_done)),
                    "rt_queue_work",
                ),
                2 if !rt.is_null() => (
                    rt_queue_work(rt, &mut w, None, Some(work_done)),
                    "rt_queue_work",
                ),
                3 if !rt.is_null() => (
                    rt_queue_work(rt, &mut w, Some(work_fn), None),
                    "rt_queue_work",
                ),
                _ => (rt_work_cancel(null_mut()), "rt_work_cancel"),
            }
        };
        expect(st, &[RT_ERR_NULL], func);
    }

    fn strings(&mut self, inp: &mut Input) {
        let v = i32::from_le_bytes([inp.byte(), inp.byte(), inp.byte(), inp.byte()]);
        for s in [
            rt_status_str(v),
            rt_status_str(v % 10),
            rt_version(),
            rt_last_error(),
        ] {
            check(!s.is_null(), || "NULL string".into());
            // SAFETY: documented static / thread-owned C strings.
            let s = unsafe { CStr::from_ptr(s) };
            check(s.to_str().is_ok() && s.to_bytes().len() < 4096, || {
                "bad string".into()
            });
        }
    }

    /// Releases everything; `runtimes_first` picks the order (objects
    /// outliving their runtime, or the runtime outliving its objects).
    fn teardown(&mut self, runtimes_first: bool) {
        if runtimes_first {
            for r in self.rts.iter_mut() {
                if let Some(r) = r.take() {
                    // SAFETY: live runtime, not used again.
                    unsafe { rt_runtime_free(r.ptr) };
                    r.info.shut.set(true);
                    r.info.freed.set(true);
                }
            }
        }
        for i in 0..NTASK {
            if let Some(t) = self.tasks[i].as_ref() {
                if t.rt.shut.get() {
                    // After shutdown every task has an outcome at once.
                    let mut st = RT_OK;
                    // SAFETY: live handle.
                    let finished = unsafe { rt_task_is_finished(t.ptr) };
                    // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
                    let _ = unsafe { rt_task_poll(t.ptr, null_mut(), &mut st, null_mut()) };
                    check(finished || !t.rt.freed.get(), || {
                        "a task of a freed runtime is not finished".into()
                    });
                    if finished && !t.consumed {
                        // SAFETY: live handle.
                        let st = unsafe { rt_task_join(t.ptr, 0, null_mut()) };
                        expect(
                            st,
                            &[RT_OK, RT_ERR_CANCELLED, RT_ERR_SHUTDOWN],
                            "rt_task_join",
                        );
                    }
                }
            }
            self.free_task_slot(i);
        }
        for i in 0..NSMALL {
            self.clear_timer_own(i);
            if let Some(t) = self.timers[i].take() {
                // SAFETY: a live handle, freed once.
                unsafe { rt_timer_free(t.ptr) };
            }
        }
        for s in self.sleeps.iter_mut().filter_map(Option::take) {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            unsafe { rt_sleep_free(s.ptr) };
        }
        for i in 0..NSMALL {
            if let Some(c) = self.watch_own[i].take() {
                c.store(null_mut(), SeqCst);
            }
            if let Some(w) = self.watches[i].take() {
                // SAFETY: a live handle, freed once.
                unsafe { rt_watch_free(w.ptr) };
            }
        }
        for r in self.regs.iter_mut().filter_map(Option::take) {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            unsafe { rt_fd_free(r.ptr) };
        }
        for q in self.queues.iter_mut().filter_map(Option::take) {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            unsafe { rt_queue_free(q.ptr) };
        }
        for c in self.comps.iter_mut().filter_map(Option::take) {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            unsafe { rt_completion_free(c.ptr) };
        }
        for w in self.cwakers.iter_mut().filter_map(Option::take) {
            // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
            unsafe { rt_waker_free(w) };
        }
        for r in self.rts.iter_mut() {
            if let Some(r) = r.take() {
                // SAFETY: the handles are live entries of the tables (or NULL), each used per the header contract.
                unsafe { rt_runtime_free(r.ptr) };
            }
        }
        self.claims.clear();
        // No runtime is left, so no future can stash a waker any more.
        for w in std::mem::take(&mut *STASH.lock().unwrap()) {
            // SAFETY: owned wakers, freed once.
            unsafe { rt_waker_free(w as *mut rt_waker) };
        }
        for p in std::mem::take(&mut *NO_DROP.lock().unwrap()) {
            // SAFETY: payloads handed over without a drop_arg; the runtime
            // is gone, so nothing uses them.
            unsafe { drop_payload(p as *mut c_void) };
        }
        for f in self.fds.iter_mut().filter_map(Option::take) {
            // SAFETY: our fds, closed once.
            unsafe {
                libc::close(f.r);
                if !f.eventfd {
                    libc::close(f.w);
                }
            }
        }
    }
}

/// Payloads spawned without a `drop_arg` (freed by the harness at the end).
static NO_DROP: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The ids of this process's threads now, sorted (the kernel drops a
/// thread from the list only after it has run its thread-local
/// destructors). Failing to read the list aborts: the wait below would
/// otherwise pass silently and let LeakSanitizer run while runtime threads
/// still live (it can then report a live worker's objects as leaked).
fn thread_ids() -> Vec<u32> {
    let dir = std::fs::read_dir("/proc/self/task")
        .unwrap_or_else(|e| violated(&format!("cannot list /proc/self/task: {e}")));
    let mut ids: Vec<u32> = dir
        .map(|e| {
            let e = e.unwrap_or_else(|e| violated(&format!("reading /proc/self/task: {e}")));
            e.file_name()
                .to_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| violated("a non-numeric entry in /proc/self/task"))
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// How many threads this process has now: `Threads:` of /proc/self/status,
/// the kernel's own count, read at once. The list of `thread_ids` is not
/// a snapshot: /proc/self/task is read entry by entry, and a thread
/// started during the listing by one that ends before the listing reaches
/// it can appear in neither (a runtime worker starting the
/// `runtime-shutdown` thread of rt_runtime_free, say), so the count is
/// what the end-of-input wait trusts.
fn thread_count() -> usize {
    let status = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|e| violated(&format!("cannot read /proc/self/status: {e}")));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| violated("no Threads: line in /proc/self/status"))
}

fuzz_target!(|data: &[u8]| {
    let threads_before = thread_ids();
    check(thread_count() == threads_before.len(), || {
        format!(
            "{} threads counted, {threads_before:?} listed",
            thread_count()
        )
    });
    let mut inp = Input { data, pos: 0 };
    let runtimes_first = inp.byte() & 1 == 1;
    let mut world = World::default();
    let mut n = 0;
    while !inp.done() && n < MAX_OPS {
        world.op(&mut inp);
        n += 1;
    }
    world.teardown(runtimes_first);
    // Every thread a runtime started ends once the runtime is freed. After
    // a timed-out rt_runtime_shutdown, workers and blocking threads may
    // still be finishing when rt_runtime_free returns (documented), so wait
    // for them: a thread that never ends makes this input hang, which
    // libFuzzer's -timeout reports. (Waiting also keeps LeakSanitizer's
    // per-input check from seeing a half-exited thread's allocations.)
    while thread_count() > threads_before.len() {
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    // The same threads, not just as many: no runtime thread outlived the
    // input while another one (libFuzzer's) ended.
    let threads = thread_ids();
    check(threads == threads_before, || {
        format!("threads {threads_before:?} before the input, {threads:?} after it")
    });
    // Every runtime is freed and its threads have ended: every queued work
    // item has had its `done`.
    for i in 0..NSMALL {
        world.work_reap(i, true);
    }
    let (c, d) = (CREATED.load(SeqCst), DROPPED.load(SeqCst));
    check(c == d, || format!("{c} arguments handed over, {d} dropped"));
    let (r, f) = (OC_REGISTERED.load(SeqCst), OC_FIRED.load(SeqCst));
    check(r == f, || {
        format!("{r} on_complete callbacks registered, {f} ran")
    });
});
