"""The standard library's side of the Python rows: ThreadPoolExecutor and
asyncio's default event loop."""

import asyncio
import concurrent.futures

from common import MAP, SLEEP0, SPAWN, SUBMIT, TIMERS, main, timer_delay, tiny


def submit_result(workers):
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=workers)

    def bench():
        total = 0
        for _ in range(SUBMIT):
            total += ex.submit(tiny).result()
        return total

    return bench


def executor_map(workers):
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    return lambda: sum(ex.map(tiny, range(MAP)))


def call_later_on(new_loop):
    """call_later on a loop made by ``new_loop`` (also used by uvloop_side.py)."""
    loop = new_loop()

    def bench():
        fired = 0

        def cb():
            nonlocal fired
            fired += 1
            if fired == TIMERS:
                loop.stop()

        for i in range(TIMERS):
            loop.call_later(timer_delay(i), cb)
        loop.run_forever()
        return fired

    return bench


def spawn_await(workers):
    async def run():
        loop = asyncio.get_running_loop()
        total = 0
        for _ in range(SPAWN):
            total += await loop.run_in_executor(None, tiny)
        return total

    return lambda: asyncio.run(run())


def sleep0(workers):
    async def run():
        n = 0
        for _ in range(SLEEP0):
            await asyncio.sleep(0)
            n += 1
        return n

    return lambda: asyncio.run(run())


if __name__ == "__main__":
    main(
        {
            "py_submit_result": submit_result,
            "py_executor_map": executor_map,
            "py_call_later/asyncio": lambda w: call_later_on(asyncio.new_event_loop),
            "py_spawn_await": spawn_await,
            "py_sleep0": sleep0,
        }
    )
