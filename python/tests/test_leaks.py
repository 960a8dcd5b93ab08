"""No reference or memory leaks over many tasks, completions and timers."""

import asyncio
import gc
import os
import socket
import sys
import time
import tracemalloc
import weakref

import pytest

import runtime


class Payload:
    pass


def _settle():
    for _ in range(3):
        gc.collect()


def test_no_refcount_leak_over_100k_tasks(mrt):
    arg = Payload()
    kw = Payload()
    ret = Payload()
    base = [sys.getrefcount(o) for o in (arg, kw, ret)]

    def fn(a, *, k):
        return ret

    for _ in range(10):
        tasks = [mrt.spawn(fn, arg, k=kw) for _ in range(10_000)]
        for t in tasks:
            assert t.result() is ret
        del tasks, t
    # result() returns once the value is set; the worker drops the task's
    # closure (fn, args, kwargs) just after, so the last few may still be
    # alive for a moment: wait (bounded) for them to go.
    for _ in range(100):
        _settle()
        if [sys.getrefcount(o) for o in (arg, kw, ret)] == base:
            break
        mrt.spawn(int).result()
    assert [sys.getrefcount(o) for o in (arg, kw, ret)] == base


def test_failed_and_cancelled_tasks_release_everything(mrt):
    arg = Payload()
    base = sys.getrefcount(arg)

    def fail(a):
        raise ValueError(a)

    tasks = [mrt.spawn(fail, arg) for _ in range(1000)]
    for t in tasks:
        assert isinstance(t.exception(), ValueError)
    blocking = runtime.Runtime(max_blocking=1)
    try:
        gate = runtime.Completion()
        first = blocking.spawn_blocking(gate.result)
        queued = [blocking.spawn_blocking(print, arg) for _ in range(100)]
        assert all(q.cancel() for q in queued)
        gate.set_result(None)
        first.result(timeout=10)
    finally:
        blocking.shutdown()
    del tasks, t, queued
    _settle()
    assert sys.getrefcount(arg) == base


def test_no_object_growth_over_100k_tasks(mrt):
    def run_batch():
        tasks = [mrt.spawn(int, i) for i in range(10_000)]
        for t in tasks:
            t.result()

    run_batch()  # warm up caches
    _settle()
    tracemalloc.start()
    try:
        before_objects = len(gc.get_objects())
        before_mem, _ = tracemalloc.get_traced_memory()
        for _ in range(10):
            run_batch()
        _settle()
        after_objects = len(gc.get_objects())
        after_mem, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A leak of even one object per task would add 100k objects / megabytes.
    assert after_objects - before_objects < 1000
    assert after_mem - before_mem < 1_000_000


def test_no_leak_over_awaited_tasks_and_completions(mrt):
    marker = Payload()
    base = sys.getrefcount(marker)

    async def main():
        for _ in range(10):
            tasks = [mrt.spawn(lambda: marker) for _ in range(1000)]
            results = await asyncio.gather(*tasks)
            assert all(r is marker for r in results)
            comps = [runtime.Completion() for _ in range(1000)]
            for c in comps:
                c.set_result(marker)
            await asyncio.gather(*comps)

    asyncio.run(main())
    _settle()
    assert sys.getrefcount(marker) == base


def test_no_leak_over_timers(mrt):
    arg = Payload()
    base = sys.getrefcount(arg)
    done = runtime.Completion()
    left = [2000]

    def hit(a):
        left[0] -= 1
        if left[0] == 0:
            done.set_result(None)

    handles = [mrt.call_later(0, hit, arg) for _ in range(2000)]
    cancelled = [mrt.call_later(3600, hit, arg) for _ in range(2000)]
    for h in cancelled:
        h.cancel()
    done.result(timeout=30)
    del handles, cancelled, h
    # Aborted timer tasks drop their callbacks on a runtime thread; give it
    # a moment, then collect.
    for _ in range(100):
        _settle()
        if sys.getrefcount(arg) == base:
            break
        mrt.spawn(int).result()
    assert sys.getrefcount(arg) == base


def test_completion_with_pending_callback_or_awaiter_is_collected():
    # A done-callback (or an awaiting task) that refers back to a
    # Completion nobody will set forms a cycle through the Rust cell; the
    # garbage collector must see it.
    import weakref

    c = runtime.Completion()

    def cb(f, c=c):
        pass

    c.add_done_callback(cb)
    wc, wcb = weakref.ref(c), weakref.ref(cb)
    del c, cb
    _settle()
    assert wc() is None and wcb() is None

    async def main():
        c = runtime.Completion()
        task = asyncio.ensure_future(_await_it(c))
        await asyncio.sleep(0)
        return weakref.ref(c), task

    async def _await_it(c):
        await c

    loop = asyncio.new_event_loop()
    wc, task = loop.run_until_complete(main())
    task.cancel()
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    loop.close()
    del task, loop
    _settle()
    assert wc() is None


def test_runtime_referenced_from_its_exception_handler_is_collected():
    import weakref

    rt = runtime.Runtime(workers=1)
    rt.set_exception_handler(lambda ctx, rt=rt: None)
    w = weakref.ref(rt)
    del rt
    _settle()
    assert w() is None


_names = iter(range(10**6))


def _threads_named(name):
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/comm" % tid) as f:
                n += f.read().strip() == name
        except OSError:  # the thread ended meanwhile
            pass
    return n


class _Holder:
    """Refers to a runtime; its bound method is the callback."""

    def __init__(self, rt, calls):
        self.rt = rt
        self.calls = calls

    def tick(self, *args):
        self.calls.append(self.rt.time())


def _schedule(r, kind, how, calls, sock):
    """Registers a callback of `kind` on `r` that refers back to `r` the
    way `how` says; the callback appends to `calls`."""
    if how == "default":
        cb, args = (lambda *a, rt=r: calls.append(rt.time())), ()
    elif how == "method":
        cb, args = _Holder(r, calls).tick, ()
    else:  # "argument"
        cb, args = (lambda rt: calls.append(rt.time())), (r,)
    if kind == "call_later":
        return r.call_later(0.5, cb, *args)
    if kind == "call_at":
        return r.call_at(r.time() + 0.5, cb, *args)
    if kind == "call_every":
        return r.call_every(0.05, cb, *args)
    return r.add_reader(sock, cb, *args)


@pytest.mark.parametrize("how", ["default", "method", "argument"])
@pytest.mark.parametrize("kind", ["call_later", "call_at", "call_every", "add_reader"])
@pytest.mark.parametrize("flavor", ["multi_thread", "current_thread"])
def test_runtime_referenced_from_its_own_pending_callback_is_collected(flavor, kind, how):
    # The callback is held by the runtime's task, out of the collector's
    # sight unless the runtime shows it: the runtime must still be garbage
    # once nothing else refers to it, its threads must end, and the
    # callback must never run after that.
    name = "gcrt-%d" % next(_names)
    r = runtime.Runtime(workers=1, flavor=flavor, thread_name=name)
    a, b = socket.socketpair()
    calls = []
    try:
        assert r.spawn(int).result(timeout=10) == 0
        assert _threads_named(name) >= 1
        handle = _schedule(r, kind, how, calls, a)
        ref = weakref.ref(r)
        del r, handle
        _settle()
        alive = ref()
        if alive is not None:
            alive.shutdown()
        assert alive is None, "runtime kept alive by its own pending callback"
        # A reader would now be called; a timer's deadline passes.
        b.send(b"x")
        seen = len(calls)
        time.sleep(0.8)
        assert len(calls) == seen, "callback ran after its runtime was collected"
        if kind != "call_every":
            assert calls == []
        # The drop shuts the runtime down in the background.
        deadline = time.monotonic() + 10
        while _threads_named(name) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _threads_named(name) == 0, "the collected runtime's threads still run"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("kind", ["call_later", "call_every", "add_reader"])
def test_a_referenced_runtime_keeps_its_self_referring_callbacks(kind):
    # The other side: while something outside refers to the runtime, a
    # collection must not drop its pending callbacks.
    r = runtime.Runtime(workers=1)
    a, b = socket.socketpair()
    calls = []
    fired = runtime.Completion()

    def cb(*args, rt=r):
        calls.append(rt.time())
        if not fired.done():
            fired.set_result(None)

    try:
        if kind == "call_later":
            r.call_later(0.2, cb)
        elif kind == "call_every":
            r.call_every(0.1, cb)
        else:
            r.add_reader(a, cb)
        del cb
        _settle()
        b.send(b"x")
        fired.result(timeout=10)
        assert calls
    finally:
        r.shutdown()
        a.close()
        b.close()


def test_collecting_runtimes_while_their_callbacks_run():
    # Collections racing with callbacks that are being called (a repeating
    # timer, a level-triggered reader, one-shot timers coming due) on the
    # runtime's threads: nothing is freed under a running call, nothing is
    # freed twice, and every runtime goes.
    refs = []
    for i in range(30):
        r = runtime.Runtime(workers=1, flavor="current_thread" if i % 2 else "multi_thread")
        a, b = socket.socketpair()
        b.send(b"x")  # `a` stays readable: its reader runs again and again
        calls = []
        r.call_every(1e-4, lambda rt=r: calls.append(rt.time()))
        r.add_reader(a, lambda rt=r, s=a: calls.append(rt.time()))
        for k in range(50):
            r.call_later(k * 1e-4, lambda rt=r: calls.append(rt.time()))
        refs.append(weakref.ref(r))
        del r
        time.sleep(0.002)
        gc.collect()
        a.close()
        b.close()
    _settle()
    assert [w for w in refs if w() is not None] == []


def test_callbacks_of_a_shut_down_runtime_are_released():
    # shutdown() drops every pending timer and fd callback at once, with
    # the GIL held.
    r = runtime.Runtime(workers=1)
    a, b = socket.socketpair()
    arg = Payload()
    base = sys.getrefcount(arg)
    try:
        r.call_later(3600, print, arg)
        r.call_every(3600, print, arg)
        r.add_reader(a, print, arg)
        assert sys.getrefcount(arg) == base + 3
        r.shutdown()
        assert sys.getrefcount(arg) == base
    finally:
        a.close()
        b.close()


def test_cancelled_awaits_of_a_pending_completion_do_not_pile_up():
    c = runtime.Completion()

    async def wait_c():
        await c

    async def main():
        # Each round: an await starts (its future joins the cell's
        # waiters), then is cancelled, as a timeout would.
        for _ in range(2000):
            t = asyncio.ensure_future(wait_c())
            await asyncio.sleep(0)
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass

    asyncio.run(main())
    _settle()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asyncio.run(main())
    _settle()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # Kept futures cost about 130 bytes each: 2,000 more would be ~260 KB.
    assert grown < 100_000, grown
    c.set_result(1)


def test_a_loop_closed_before_delivery_is_not_kept_alive():
    import os
    import threading
    import weakref

    rt = runtime.Runtime(workers=1)
    try:
        fds_before = len(os.listdir("/proc/self/fd"))
        refs = []
        for _ in range(10):
            release = threading.Event()
            t = rt.spawn_blocking(release.wait)
            loop = asyncio.new_event_loop()
            refs.append(weakref.ref(loop))

            async def main():
                try:
                    await asyncio.wait_for(t, 0.001)
                except asyncio.TimeoutError:
                    pass

            loop.run_until_complete(main())
            loop.close()
            del loop
            release.set()
            assert t.result(timeout=10) is True
        rt.spawn(int).result(timeout=10)
        _settle()
        assert sum(r() is not None for r in refs) == 0
        assert len(os.listdir("/proc/self/fd")) <= fds_before + 1
    finally:
        rt.shutdown()
