"""Our side of the Python rows: the ``runtime`` module (python/)."""

import asyncio
import itertools
import threading

import runtime
from common import MAP, SLEEP0, SPAWN, SUBMIT, TIMERS, main, timer_delay, tiny


def submit_result(workers):
    ex = runtime.Executor(max_workers=workers)

    def bench():
        total = 0
        for _ in range(SUBMIT):
            total += ex.submit(tiny).result()
        return total

    return bench


def executor_map(workers):
    ex = runtime.Executor(max_workers=workers)
    return lambda: sum(ex.map(tiny, range(MAP)))


def call_later(workers):
    rt = runtime.Runtime(workers=workers)

    def bench():
        counter = itertools.count(1)  # next() is atomic under the GIL
        done = threading.Event()

        def cb():
            if next(counter) == TIMERS:
                done.set()

        for i in range(TIMERS):
            rt.call_later(timer_delay(i), cb)
        done.wait()
        return next(counter) - 1

    return bench


def spawn_await(workers):
    rt = runtime.Runtime(workers=workers)

    async def run():
        total = 0
        for _ in range(SPAWN):
            total += await rt.spawn(tiny)
        return total

    return lambda: asyncio.run(run())


def sleep0(workers):
    rt = runtime.Runtime(workers=workers)

    async def run():
        n = 0
        for _ in range(SLEEP0):
            await rt.sleep(0)
            n += 1
        return n

    return lambda: asyncio.run(run())


main(
    {
        "py_submit_result": submit_result,
        "py_executor_map": executor_map,
        "py_call_later/asyncio": call_later,
        "py_call_later/uvloop": call_later,
        "py_spawn_await": spawn_await,
        "py_sleep0": sleep0,
    }
)
