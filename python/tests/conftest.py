"""Shared fixtures for the runtime test suite."""

import asyncio
import gc

import pytest

import runtime

try:
    import uvloop
except ImportError:  # pragma: no cover - depends on the machine
    uvloop = None


@pytest.fixture(params=["multi_thread", "current_thread"])
def rt(request):
    """A runtime of each flavor, shut down after the test."""
    r = runtime.Runtime(flavor=request.param)
    try:
        yield r
    finally:
        r.shutdown(wait=True)


@pytest.fixture
def mrt():
    """A multi-thread runtime with two workers."""
    r = runtime.Runtime(workers=2)
    try:
        yield r
    finally:
        r.shutdown(wait=True)


LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None else [])


@pytest.fixture(params=LOOPS)
def run_loop(request):
    """Runs a coroutine to completion on a fresh asyncio or uvloop loop."""

    def run(coro):
        if request.param == "uvloop":
            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()
            gc.collect()

    run.kind = request.param
    return run


@pytest.fixture
def awaited_across_shutdown(run_loop):
    """``f(r, make)``: awaits ``make()`` on a fresh loop, shuts ``r`` down
    meanwhile, and returns the awaited future once it ended, or None if it
    had not ended 2 s after the shutdown."""

    def f(r, make):
        async def main():
            t = asyncio.ensure_future(make())
            await asyncio.sleep(0.05)
            r.shutdown(wait=True)
            done, _ = await asyncio.wait([t], timeout=2)
            return t if t in done else None

        return run_loop(main())

    return f


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt for the test's duration, even where
    the process was started with SIGINT ignored (a background job of a
    shell without job control: Python then installs no handler)."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
