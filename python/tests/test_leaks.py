"""No reference or memory leaks over many tasks, completions and timers."""

import asyncio
import gc
import sys
import tracemalloc

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
