"""runtime: an async runtime written in Rust, for Python.

Submit Python callables to a work-stealing scheduler (``Runtime.spawn``) or
its blocking pool (``Runtime.spawn_blocking``), set timers
(``call_later``/``call_at``/``call_every``), watch file descriptors
(``add_reader``/``add_writer``), and wait for the results from plain threads
(``Task.result()``) or from any asyncio event loop (``await task``).
``Executor`` is a ``concurrent.futures`` executor running on a runtime, and
can serve as an asyncio loop's default executor.

The native part lives in ``runtime._runtime``; this module adds the
pure-Python pieces: the ``Executor``, the shared default runtime, and the
interpreter-exit and fork hooks.
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures
import concurrent.futures.thread
import functools
import itertools
import logging
import os
import sys
import threading
import time
import types
import weakref

from . import _runtime
from ._runtime import Completion, FdWatch, Task, TimerHandle, __version__

__all__ = [
    "Runtime",
    "Task",
    "Completion",
    "TimerHandle",
    "FdWatch",
    "Executor",
    "default_runtime",
    "CancelledError",
    "TimeoutError",
    "InvalidStateError",
    "BrokenExecutor",
    "__version__",
]

CancelledError = concurrent.futures.CancelledError
TimeoutError = concurrent.futures.TimeoutError
InvalidStateError = concurrent.futures.InvalidStateError
BrokenExecutor = concurrent.futures.BrokenExecutor

_log = logging.getLogger("runtime")

# Every runtime not yet shut down, so interpreter exit can stop them before
# finalization (runtime threads must not touch a finalizing interpreter).
_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()
# Every Executor not yet shut down: interpreter exit runs their queued work
# first, as concurrent.futures does for its thread pools.
_live_executors: "weakref.WeakSet[Executor]" = weakref.WeakSet()
_exiting = False


class Runtime(_runtime.Runtime):
    """An async runtime: worker threads, a blocking pool, timers and an I/O
    reactor, shared by every task, timer and fd watcher created from it.

    ``Runtime(workers=None, max_blocking=None, flavor="multi_thread", *,
    thread_name=None)``; ``flavor="current_thread"`` runs the scheduler on
    one driver thread. ``thread_name`` names every thread of the runtime
    (default ``runtime-worker``, the driver ``runtime-driver``). Use it as
    a context manager, or call ``shutdown()``.
    """

    __slots__ = ()

    def __init__(
        self, workers=None, max_blocking=None, flavor="multi_thread", *, thread_name=None
    ):
        if _exiting:
            raise RuntimeError("cannot create a Runtime after interpreter shutdown")
        _live_runtimes.add(self)


_default_lock = threading.Lock()
_default: "Runtime | None" = None


def default_runtime() -> Runtime:
    """The process-wide runtime, created on first use (multi-thread, one
    worker per CPU). Executors without ``runtime=`` run on it."""
    global _default
    rt = _default
    if rt is not None and not rt.closed:
        return rt
    with _default_lock:
        if _default is None or _default.closed:
            _default = Runtime()
        return _default


def _sleep_zero_types() -> "tuple[type, type]":
    """The future types of ``rt.sleep(0, result)`` and of ``rt.sleep(0)``
    (built on first use, so importing ``runtime`` does not import asyncio).

    Both are ``asyncio.Future`` subclasses whose instances are created
    already completed (a zero delay has nothing to wait for), so they work
    wherever a future does (``gather``, ``wait_for``, done callbacks).
    Awaiting one does what ``asyncio.sleep(0)`` does: one bare ``yield``,
    after which the task is resumed on the next pass of the loop, then the
    result. (Awaiting a plain completed future would not yield at all; a
    plain future completed by a ``call_soon`` callback would take two
    passes.)

    The second type serves ``rt.sleep(0)`` with no result: a completed
    future can no longer change (its result, its state, its callbacks run
    at once), so each loop keeps one such future, made on first use, and
    every ``rt.sleep(0)`` on that loop returns it. Its ``await`` is a
    C-level iterator over ``(None,)``: one yield, then ``None``.
    """
    global _SleepZero
    if _SleepZero is None:
        import asyncio
        import functools

        class SleepZeroFuture(asyncio.Future):  # type: ignore[type-arg]
            __slots__ = ()

            def __await__(self):  # type: ignore[no-untyped-def]
                yield  # one pass of the loop, as asyncio.sleep(0)
                return self.result()

            __iter__ = __await__

        class SleepZeroNoneFuture(SleepZeroFuture):
            __slots__ = ()

            # Called without `self` (a staticmethod): a fresh iterator that
            # yields once and then returns None.
            __await__ = __iter__ = staticmethod(  # type: ignore[assignment]
                functools.partial(iter, (None,))
            )

        SleepZeroFuture.__module__ = __name__
        SleepZeroNoneFuture.__module__ = __name__
        _SleepZero = (SleepZeroFuture, SleepZeroNoneFuture)
    return _SleepZero


_SleepZero: "tuple[type, type] | None" = None


def _after_fork_in_child() -> None:
    # The parent's runtimes have no threads here; forget them (their methods
    # raise a clear RuntimeError) and let the default runtime be recreated.
    global _default, _default_lock
    _default = None
    _default_lock = threading.Lock()
    _live_runtimes.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _python_exit() -> None:
    global _exiting
    _exiting = True
    for ex in list(_live_executors):
        try:
            ex.shutdown(wait=True)
        except Exception:  # pragma: no cover - best effort at exit
            _log.exception("error shutting down %r at exit", ex)
    for rt in list(_live_runtimes):
        try:
            rt.shutdown(wait=True)
        except Exception:  # pragma: no cover - best effort at exit
            _log.exception("error shutting down %r at exit", rt)


def _close_at_exit() -> None:
    # Runtimes shut down without waiting (or dropped) may still be running
    # Python code on their threads: let it finish, and keep every runtime
    # thread out of Python from now on (CPython would end such a thread
    # with pthread_exit during finalization, which aborts the process).
    # An atexit callback, so it runs after the non-daemon threads were
    # joined (they may still wait on runtime tasks) and after the atexit
    # callbacks registered later than this import.
    _runtime._close_at_exit()


# atexit callbacks run last-registered first: _close_at_exit must run last.
atexit.register(_close_at_exit)
if hasattr(threading, "_register_atexit"):
    # Runs before non-daemon threads are joined, like concurrent.futures.
    threading._register_atexit(_python_exit)
else:  # pragma: no cover - Python < 3.9
    atexit.register(_python_exit)


class _WorkItem:
    # `task`: for the item a new worker was started with, that worker's
    # runtime task (set only then, after spawn_blocking returns), so that
    # shutdown(cancel_futures=True) can cancel a worker still waiting for a
    # blocking thread along with its item.
    __slots__ = ("future", "fn", "args", "kwargs", "task")
    task: Task

    def __init__(self, future, fn, args, kwargs):
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self):
        if not self.future.set_running_or_notify_cancel():
            return
        # Let go of fn and its arguments before the future completes: a
        # caller may be back (and checking) within microseconds.
        fn, args, kwargs = self.fn, self.args, self.kwargs
        self.fn = self.args = self.kwargs = None
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            del fn, args, kwargs
            self.future.set_exception(exc)
            # Break the frame <-> exception reference cycle.
            self = None
        else:
            del fn, args, kwargs
            self.future.set_result(result)


# How long a thread expecting an event within microseconds (a worker that
# just finished an item, a caller waiting for a result) watches a beacon
# with the GIL released before it falls back to a blocking wait; see
# python/src/beacon.rs.
_SPIN = 50e-6

_UNFINISHED = ("PENDING", "RUNNING")


class _Future(concurrent.futures.Future):  # type: ignore[type-arg]
    """``Executor.submit``'s future: a ``concurrent.futures.Future`` whose
    ``result()``/``exception()`` first watch a beacon for ``_SPIN`` seconds
    with the GIL released (a tiny call is usually done by then), so the
    caller is not put to sleep and woken for it."""

    def __init__(self):
        super().__init__()
        self._beacon = _runtime._Beacon()

    def set_result(self, result):
        super().set_result(result)
        self._beacon.signal()

    def set_exception(self, exception):
        super().set_exception(exception)
        self._beacon.signal()

    def cancel(self):
        if super().cancel():
            self._beacon.signal()
            return True
        return False

    def _spin(self, timeout):
        if self._state in _UNFINISHED:
            if timeout is None:
                self._beacon.spin_wait(0, _SPIN)
            elif timeout > 0:
                start = time.monotonic()
                self._beacon.spin_wait(0, min(_SPIN, timeout))
                timeout = max(0.0, timeout - (time.monotonic() - start))
        return timeout

    def result(self, timeout=None):
        return super().result(self._spin(timeout))

    def exception(self, timeout=None):
        return super().exception(self._spin(timeout))


# How long an Executor worker with nothing to do waits for the next item
# before giving its runtime blocking thread back (ThreadPoolExecutor's
# threads wait forever; a runtime's blocking threads are shared, so ours
# only bridge the gap between back-to-back submissions).
_WORKER_KEEP_ALIVE = 0.005

# How long shutdown(cancel_futures=True) lets new workers take the item
# each was started with before it cancels those items (see
# Executor.shutdown): a worker's runtime task usually starts within
# microseconds of the GIL being free, unless the blocking pool is full.
_START_GRACE = 0.02


class _MapJob:
    """One ``Executor.map`` call: its runners and its result iterator.

    Instead of one ``Future`` and one queue hand-off per item (what
    ``Executor.map`` does through ``submit``), ``min(max_workers, n)``
    *runner* work items claim the next unclaimed item one at a time from a
    shared counter, run it, and store ``(ok, value)`` in ``results``. Items
    still start one by one as runners free up, so slow items run in
    parallel exactly as with one work item each; tiny items cost a counter
    step and a list store instead of a ``Future``, a work-queue hand-off
    and a thread wake-up.

    Invariants: ``results[i]`` is written once, under ``cond``, by the
    runner that claimed ``i``; the iterator sleeps on ``cond`` only after
    setting ``waiting = i`` under it, and a runner notifies when it stores
    ``waiting``'s result or when the last runner is done (``runners`` hits
    0: runners that were cancelled before starting leave unclaimed items,
    which the iterator then reports as cancelled, or as the error that
    failed the runner, e.g. ``BrokenThreadPool``).

    ``stopped`` ends the runners after their current item: set when the
    iterator is closed, and by ``shutdown(cancel_futures=True)`` (the
    executor keeps its live jobs in a ``WeakSet`` for that), so that the
    items nobody claimed yet are reported cancelled, as the futures
    ``ThreadPoolExecutor.map`` has not started yet are cancelled.
    """

    __slots__ = (
        "__weakref__",
        "fn",
        "items",
        "results",
        "claim",
        "cond",
        "waiting",
        "runners",
        "stopped",
        "error",
    )

    def __init__(self, fn, items):
        self.fn = fn
        self.items = items
        self.results = [None] * len(items)
        # next() on itertools.count is one indivisible step: each index is
        # claimed by exactly one runner.
        self.claim = itertools.count().__next__
        self.cond = threading.Condition(threading.Lock())
        self.waiting = -1
        self.runners = 0
        self.stopped = False
        self.error = None

    def run(self):
        fn, items, results, cond = self.fn, self.items, self.results, self.cond
        n = len(items)
        while not self.stopped:
            i = self.claim()
            if i >= n:
                return
            args = items[i]
            items[i] = None
            try:
                r = (True, fn(*args))
            except BaseException as exc:
                r = (False, exc)
            with cond:
                results[i] = r
                if self.waiting == i:
                    cond.notify()
            del r, args

    def runner_done(self, future):
        with self.cond:
            if not future.cancelled() and future.exception() is not None:
                self.error = future.exception()
            self.runners -= 1
            if self.runners == 0:
                self.cond.notify_all()

    def take(self, i, end_time):
        """Waits for item ``i``'s result and returns it (or raises its
        exception); the job keeps no reference to it afterwards."""
        results, cond = self.results, self.cond
        with cond:
            self.waiting = i
            while results[i] is None:
                if self.runners == 0:
                    if self.error is not None:
                        raise self.error
                    raise concurrent.futures.CancelledError()
                if end_time is None:
                    cond.wait()
                else:
                    left = end_time - time.monotonic()
                    if left <= 0:
                        raise concurrent.futures.TimeoutError()
                    cond.wait(left)
            ok, value = results[i]
            results[i] = None
        if ok:
            return value
        try:
            raise value
        finally:
            value = None

    def results_in_order(self, end_time):
        try:
            for i in range(len(self.results)):
                # Not bound to a local: the caller alone holds each result.
                yield self.take(i, end_time)
        finally:
            # Items nobody claimed yet are dropped, as map's leftover
            # futures are cancelled.
            self.stopped = True


class Executor(concurrent.futures.ThreadPoolExecutor):
    """A ``concurrent.futures`` executor whose work runs on a runtime's
    blocking pool.

    Same signature and contract as ``ThreadPoolExecutor``: ``submit``
    returns a real ``concurrent.futures.Future``; at most ``max_workers``
    work items run at once; ``initializer(*initargs)`` runs once on each
    runtime thread before its first work item, and if it raises the executor
    is broken (``BrokenThreadPool``). It subclasses ``ThreadPoolExecutor``
    only so that ``loop.set_default_executor`` accepts it: no
    ``ThreadPoolExecutor`` thread is ever started. ``runtime=None`` uses
    ``default_runtime()``; the runtime is not shut down with the executor.
    ``thread_name_prefix`` is accepted for compatibility (runtime threads
    keep their own names).
    """

    _counter = itertools.count().__next__

    def __init__(
        self,
        max_workers=None,
        thread_name_prefix="",
        initializer=None,
        initargs=(),
        *,
        runtime=None,
    ):
        if max_workers is None:
            cpus = getattr(os, "process_cpu_count", os.cpu_count)()
            max_workers = min(32, (cpus or 1) + 4)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if runtime is not None and not isinstance(runtime, _runtime.Runtime):
            raise TypeError("runtime must be a runtime.Runtime or None")
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix or (
            "Executor-%d" % self._counter()
        )
        self._initializer = initializer
        self._initargs = initargs
        self._runtime = runtime
        self._work_queue = collections.deque()
        self._lock = threading.Lock()
        self._shutdown_lock = self._lock
        self._idle = threading.Condition(self._lock)
        # Workers with nothing to do wait here up to _WORKER_KEEP_ALIVE for
        # the next item before giving their runtime thread back.
        self._work_ready = threading.Condition(self._lock)
        self._waiting = 0  # workers waiting on _work_ready
        self._spinning = 0  # workers watching _work_beacon
        self._work_beacon = _runtime._Beacon()
        self._signalled = 0  # of those, already sent a notify
        self._workers = 0
        # Items handed straight to a new worker (never queued) that it has
        # not taken yet: its runtime task may still wait for a blocking
        # thread. Not started, so shutdown(cancel_futures=True) cancels
        # them with the queued ones. Added under _lock when the worker is
        # counted; the worker discards its item (no lock: one set
        # operation) once its initializer ran, where a ThreadPoolExecutor
        # thread would take it from the queue.
        self._starting: "set[_WorkItem]" = set()
        # Live Executor.map jobs (added under _lock), which
        # shutdown(cancel_futures=True) stops.
        self._map_jobs: "weakref.WeakSet[_MapJob]" = weakref.WeakSet()
        self._shutdown = False
        self._broken = False
        self._local = threading.local()
        # ThreadPoolExecutor attributes some code inspects; no threads.
        self._threads = set()
        self._idle_semaphore = threading.Semaphore(0)
        _live_executors.add(self)

    @property
    def runtime(self) -> Runtime:
        """The runtime the work runs on."""
        return self._runtime if self._runtime is not None else default_runtime()

    def submit(self, fn, /, *args, **kwargs):
        """Schedules ``fn(*args, **kwargs)``; returns a ``Future``."""
        with self._lock:
            if self._broken:
                raise concurrent.futures.thread.BrokenThreadPool(self._broken)
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _exiting:
                raise RuntimeError(
                    "cannot schedule new futures after interpreter shutdown"
                )
            future = _Future()
            item = _WorkItem(future, fn, args, kwargs)
            # A new worker takes the item that started it directly, as an
            # idle ThreadPoolExecutor thread would; others wait in the queue.
            start = False
            if self._spinning > len(self._work_queue):
                # A worker watching the beacon takes it within microseconds.
                self._work_queue.append(item)
                self._work_beacon.signal()
            elif self._waiting > self._signalled:
                self._signalled += 1
                self._work_queue.append(item)
                self._work_ready.notify()
            elif self._workers < self._max_workers:
                start = True
                self._workers += 1
                self._starting.add(item)
            else:
                self._work_queue.append(item)
        if start:
            try:
                task = self.runtime.spawn_blocking(self._worker, item)
            except BaseException:
                with self._lock:
                    self._workers -= 1
                    self._starting.discard(item)
                    self._idle.notify_all()
                raise
            item.task = task
            task._add_cancel_callback(functools.partial(self._worker_done, item))
        return future

    submit.__doc__ = concurrent.futures.Executor.submit.__doc__

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        """Returns an iterator equivalent to ``map(fn, *iterables)``, as
        ``ThreadPoolExecutor.map`` does: every call is scheduled now, results
        come in order, an exception is raised when its result is reached,
        ``timeout`` bounds the whole iteration, and closing the iterator
        early drops the calls not started yet. ``chunksize`` is ignored.
        At most ``max_workers`` calls run at once (runners share the limit
        with ``submit``); see ``_MapJob`` for how items are handed out."""
        end_time = None if timeout is None else timeout + time.monotonic()
        job = _MapJob(fn, list(zip(*iterables)))
        with self._lock:
            self._map_jobs.add(job)
        try:
            for _ in range(min(self._max_workers, len(job.items))):
                f = self.submit(job.run)
                with job.cond:
                    job.runners += 1
                f.add_done_callback(job.runner_done)
        except BaseException:
            job.stopped = True
            raise
        return job.results_in_order(end_time)

    def _worker(self, item):
        # A worker leaves _workers (and wakes shutdown) exactly once: on its
        # way out below, in the same locked section that finds nothing left
        # to do (so submit never queues an item for a worker that is gone),
        # or, if an exception escapes (a done-callback raising a
        # BaseException such as SystemExit: Future only catches Exception
        # from callbacks), in _worker_gone. ThreadPoolExecutor's thread
        # also ends then, after logging the exception the same way.
        try:
            if self._initializer is not None and not getattr(
                self._local, "initialized", False
            ):
                try:
                    self._initializer(*self._initargs)
                except BaseException:
                    # Same logger and level as ThreadPoolExecutor.
                    logging.getLogger("concurrent.futures").critical(
                        "Exception in initializer:", exc_info=True
                    )
                    self._starting.discard(item)
                    self._initializer_failed(item)
                    with self._lock:
                        self._workers -= 1
                        self._idle.notify_all()
                    return
                self._local.initialized = True
            # The item is this worker's now: shutdown(cancel_futures=True)
            # no longer cancels it (if it did just before, run() skips it).
            self._starting.discard(item)
            if self._shutdown:
                # shutdown(cancel_futures=True) may be waiting for that.
                with self._lock:
                    self._idle.notify_all()
            while True:
                item.run()
                # Release fn, args and result as soon as the item is done.
                del item
                with self._lock:
                    idle = self._may_wait_for_work()
                    if idle:
                        self._spinning += 1
                        seen = self._work_beacon.seq
                if idle:
                    # Watch for the next item a few microseconds, GIL
                    # released.
                    self._work_beacon.spin_wait(seen, _SPIN)
                with self._lock:
                    if idle:
                        self._spinning -= 1
                    if self._may_wait_for_work():
                        # Stay for a moment: a caller submitting one item
                        # after another gets this (warm) worker instead of a
                        # new runtime task per item. Any wake-up re-checks
                        # the queue, so an item is never left behind.
                        self._waiting += 1
                        self._work_ready.wait(_WORKER_KEEP_ALIVE)
                        self._waiting -= 1
                        if self._signalled > 0:
                            self._signalled -= 1
                    if self._broken or not self._work_queue:
                        self._workers -= 1
                        self._idle.notify_all()
                        return
                    item = self._work_queue.popleft()
        except BaseException:
            # Not re-raised: nobody looks at the worker's runtime task.
            logging.getLogger("concurrent.futures").critical(
                "Exception in worker", exc_info=True
            )
            self._worker_gone()

    def _may_wait_for_work(self):
        # Under self._lock: no item to take, and the executor still open,
        # so a worker may wait (watch the beacon, then the condition).
        return not self._work_queue and not self._broken and not self._shutdown

    def _worker_done(self, item, task):
        if not task.cancelled():
            return
        # This worker was cancelled before it started, by the runtime
        # (runtime shutdown) or by shutdown(cancel_futures=True): its first
        # item never ran.
        item.future.cancel()
        self._starting.discard(item)
        self._worker_gone()

    def _worker_gone(self) -> None:
        # A worker ended without taking its loop's way out (cancelled
        # before it started, or an exception escaped it): it is no longer
        # counted. Items it would have taken from the queue are served by
        # the other workers (each checks the queue before it leaves); if it
        # was the last one, hand the queue to a new worker, or cancel it
        # all if the runtime takes no more work.
        with self._lock:
            self._workers -= 1
            self._idle.notify_all()
            if not self._work_queue or self._workers > 0 or self._broken:
                return
            nxt = self._work_queue.popleft()
            self._workers += 1
            self._starting.add(nxt)
        try:
            t = self.runtime.spawn_blocking(self._worker, nxt)
        except BaseException:
            with self._lock:
                self._workers -= 1
                self._starting.discard(nxt)
                lost = [nxt, *self._work_queue]
                self._work_queue.clear()
                self._idle.notify_all()
            for it in lost:
                it.future.cancel()
            return
        nxt.task = t
        t._add_cancel_callback(functools.partial(self._worker_done, nxt))

    def _initializer_failed(self, first=None):
        with self._lock:
            self._broken = (
                "A thread initializer failed, the thread pool is not usable anymore"
            )
            self._work_ready.notify_all()
            items = [first] if first is not None else []
            items.extend(self._work_queue)
            self._work_queue.clear()
        for item in items:
            if item.future.set_running_or_notify_cancel():
                item.future.set_exception(
                    concurrent.futures.thread.BrokenThreadPool(self._broken)
                )

    def _adjust_thread_count(self):  # pragma: no cover - no threads of our own
        pass

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Stops accepting work; with ``cancel_futures`` cancels the items
        not started yet (queued ones, those of workers still waiting for a
        runtime thread, and ``map`` items not claimed yet); with ``wait``
        blocks until running and queued items finish."""
        with self._lock:
            self._shutdown = True
            self._work_ready.notify_all()
            cancelled: "list[_WorkItem]" = []
            jobs: "list[_MapJob]" = []
            if cancel_futures:
                cancelled = list(self._work_queue)
                self._work_queue.clear()
                jobs = list(self._map_jobs)
        for job in jobs:
            job.stopped = True
        for item in cancelled:
            item.future.cancel()
        if cancel_futures:
            # Items handed straight to new workers: a ThreadPoolExecutor
            # thread takes its first item as soon as it is started (its
            # start() returns once it runs), so let workers whose runtime
            # task is starting do the same; each wakes us as it takes its
            # item. Those still waiting for a blocking thread after
            # _START_GRACE (the pool is busy) have not started: cancel
            # their items, and their runtime tasks, which frees their pool
            # slots and accounts for them at once (_worker_done).
            with self._lock:
                deadline = time.monotonic() + _START_GRACE
                while self._starting:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._idle.wait(left)
                starting = list(self._starting)
            # Outside the lock: a cancelled task runs _worker_done at once.
            # A worker that started in the meantime finds its item
            # cancelled (or is already running it: then neither cancel
            # succeeds).
            for item in starting:
                if item.future.cancel():
                    task = getattr(item, "task", None)
                    if task is not None:
                        task.cancel()
        if wait:
            if self._on_own_worker():
                # Waiting here would wait for this very worker, for ever.
                # As ThreadPoolExecutor (whose shutdown joins the calling
                # thread) raise instead, the executor now shut down and its
                # other work going on. Not counting the calling worker is
                # no answer: its own item is still running, so "every item
                # finished" cannot hold on return, and two items shutting
                # down at once would wait for each other.
                raise RuntimeError(
                    "cannot join current thread: shutdown(wait=True) called "
                    "from one of this executor's own work items"
                )
            with self._lock:
                while self._workers:
                    self._idle.wait()

    shutdown.__doc__ = concurrent.futures.Executor.shutdown.__doc__

    def _on_own_worker(self) -> bool:
        # Whether the calling thread is running one of this executor's
        # workers (in a work item, a done-callback, at any depth): its
        # _worker frame is on the stack. Looked up at shutdown only, so the
        # workers pay nothing for it (no thread-local flag set and cleared
        # around each worker).
        code = Executor._worker.__code__
        f: "types.FrameType | None" = sys._getframe(1)
        while f is not None:
            if f.f_code is code and f.f_locals.get("self") is self:
                return True
            f = f.f_back
        return False

    def __repr__(self):
        return "<runtime.Executor max_workers=%d%s>" % (
            self._max_workers,
            " shutdown" if self._shutdown else "",
        )
