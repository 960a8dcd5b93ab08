"""Awaiting tasks and completions from asyncio (and uvloop) loops."""

import asyncio
import threading
import time

import pytest

import runtime
from test_running_loop import PARAMS as _running_loop_params
from test_running_loop import package_dir  # noqa: F401 (fixture)


def test_await_task_completes_on_loop_thread(mrt, run_loop):
    async def main():
        loop_thread = threading.get_ident()
        t = mrt.spawn_blocking(lambda: threading.get_ident())
        ran_on = await t
        assert ran_on != loop_thread
        assert threading.get_ident() == loop_thread
        return await mrt.spawn(lambda: 42)

    assert run_loop(main()) == 42


def test_await_many_tasks(mrt, run_loop):
    async def main():
        tasks = [mrt.spawn(pow, i, 2) for i in range(2000)]
        return await asyncio.gather(*tasks)

    assert run_loop(main()) == [i * i for i in range(2000)]


def test_await_failing_task_raises(mrt, run_loop):
    def boom():
        raise LookupError("nope")

    async def main():
        with pytest.raises(LookupError, match="nope"):
            await mrt.spawn(boom)

    run_loop(main())


def test_await_done_task_and_completion(mrt, run_loop):
    t = mrt.spawn(lambda: "early")
    t.result()
    c = runtime.Completion()
    c.set_result("set")

    async def main():
        return await t, await c

    assert run_loop(main()) == ("early", "set")


def test_await_completion_set_from_thread(run_loop):
    async def main():
        c = runtime.Completion()
        threading.Timer(0.02, c.set_result, ("from thread",)).start()
        return await c

    assert run_loop(main()) == "from thread"


def test_await_cancelled_completion_raises_cancelled(run_loop):
    async def main():
        c = runtime.Completion()
        asyncio.get_running_loop().call_soon(c.cancel)
        with pytest.raises(asyncio.CancelledError):
            await c

    run_loop(main())


def test_cancelling_awaiter_does_not_cancel_task(mrt, run_loop):
    release = threading.Event()

    async def main():
        t = mrt.spawn_blocking(lambda: release.wait() and "still ran")
        waiter = asyncio.ensure_future(_await(t))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not t.cancelled()
        release.set()
        return await t

    assert run_loop(main()) == "still ran"


async def _await(x):
    return await x


def test_await_outside_loop_raises():
    c = runtime.Completion()
    with pytest.raises(RuntimeError):
        c.__await__()


def test_two_loops_in_two_threads(mrt):
    results = {}

    def worker(name):
        async def main():
            return await asyncio.gather(*[mrt.spawn(len, name * i) for i in range(50)])

        results[name] = asyncio.run(main())

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "bb")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"] == list(range(50))
    assert results["bb"] == [2 * i for i in range(50)]


class CountingLoop(asyncio.SelectorEventLoop):
    """Counts cross-thread wake-ups; optionally refuses add_reader, which
    makes the runtime fall back to call_soon_threadsafe."""

    def __init__(self, allow_add_reader=True):
        super().__init__()
        self.threadsafe_calls = 0
        self.allow_add_reader = allow_add_reader

    def call_soon_threadsafe(self, *args, **kwargs):
        self.threadsafe_calls += 1
        return super().call_soon_threadsafe(*args, **kwargs)

    def add_reader(self, *args):
        if not self.allow_add_reader:
            raise NotImplementedError
        return super().add_reader(*args)


def _stats(loop):
    return runtime._runtime._delivery_stats(loop)


@pytest.mark.parametrize("eventfd", [True, False], ids=["eventfd", "call_soon_threadsafe"])
def test_completions_ready_together_cost_one_wakeup(eventfd):
    loop = CountingLoop(allow_add_reader=eventfd)
    try:

        async def main():
            comps = [runtime.Completion() for _ in range(1000)]
            gathered = asyncio.gather(*comps)
            await asyncio.sleep(0)  # every awaiter is registered now
            before = _stats(loop)
            calls_before = loop.threadsafe_calls

            # Complete all of them from another thread while the loop thread
            # is busy (blocked in join), so they form one batch.
            def setter():
                for i, c in enumerate(comps):
                    c.set_result(i)

            t = threading.Thread(target=setter)
            t.start()
            t.join()
            values = await gathered
            after = _stats(loop)
            return values, before, after, loop.threadsafe_calls - calls_before

        values, before, after, calls = loop.run_until_complete(main())
        assert values == list(range(1000))
        assert after["mode"] == ("eventfd" if eventfd else "call_soon_threadsafe")
        assert after["wakeups"] - before["wakeups"] == 1
        assert after["drains"] - before["drains"] == 1
        assert calls == (0 if eventfd else 1)
    finally:
        loop.close()


def test_tasks_finishing_together_cost_one_wakeup(run_loop):
    rt = runtime.Runtime(workers=2)
    try:

        async def main():
            loop = asyncio.get_running_loop()
            gate = threading.Event()
            tasks = [rt.spawn_blocking(gate.wait) for _ in range(4)]
            tasks += [rt.spawn(gate.wait) for _ in range(200)]
            tasks += [rt.sleep(0.001 * (i % 3)) for i in range(200)]
            gathered = asyncio.gather(*tasks)
            await asyncio.sleep(0)  # every awaiter is registered now
            before = _stats(loop)
            gate.set()
            # Block the loop thread until every task is done: all the
            # completions queue up while the loop cannot drain.
            for t in tasks[:204]:
                t.result(timeout=30)
            time.sleep(0.05)  # the sleeps (<= 2 ms) have fired too
            await gathered
            after = _stats(loop)
            return after["wakeups"] - before["wakeups"]

        assert run_loop(main()) == 1
    finally:
        rt.shutdown()


def test_delivery_stats_for_unknown_loop():
    loop = asyncio.new_event_loop()
    try:
        assert _stats(loop) is None
    finally:
        loop.close()


def test_loops_are_not_kept_alive(mrt):
    import gc
    import weakref

    loop = asyncio.new_event_loop()
    loop.run_until_complete(_await(mrt.spawn(int)))
    ref = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert ref() is None


def test_loop_closed_before_delivery_is_harmless(mrt):
    release = threading.Event()
    t = mrt.spawn_blocking(release.wait)
    loop = asyncio.new_event_loop()

    async def start():
        return asyncio.ensure_future(_await(t))

    fut = loop.run_until_complete(start())
    fut.cancel()
    try:
        loop.run_until_complete(fut)
    except asyncio.CancelledError:
        pass
    loop.close()
    release.set()
    assert t.result(timeout=10) is True
    # The runtime still works.
    assert mrt.spawn(lambda: 3).result(timeout=10) == 3


STOP_ITERATION = r"""
import asyncio, sys
sys.path.insert(0, sys.argv[1])
import runtime

rt = runtime.Runtime(workers=1)

def stop():
    raise StopIteration("done")

async def main():
    c = runtime.Completion()
    c.set_exception(StopIteration("set"))
    for awaitable in (rt.spawn(stop), c):
        try:
            await asyncio.wait_for(awaitable, 10)
        except RuntimeError as e:
            assert isinstance(e.__cause__, StopIteration), repr(e.__cause__)
        else:
            raise AssertionError("no error")

asyncio.run(main())
rt.shutdown()
print("ok")
"""


@pytest.mark.parametrize("version, exe", _running_loop_params)
def test_await_of_a_stop_iteration_gets_runtime_error(version, exe, package_dir):
    # asyncio before 3.12 refuses StopIteration in set_exception; the
    # awaiter used to wait for ever. As asyncio 3.12 does: a RuntimeError
    # caused by it. Run in each CPython the machine has (the 3.10/3.11
    # path is the one that matters).
    import subprocess

    out = subprocess.run(
        [exe, "-I", "-S", "-c", STOP_ITERATION, package_dir],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok"]
