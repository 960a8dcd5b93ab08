"""call_later / call_at / call_every / sleep on the runtime's timer wheel."""

import asyncio
import threading
import time

import pytest

import runtime


def test_call_later_runs_on_runtime_thread_after_deadline(rt):
    c = runtime.Completion()
    start = rt.time()
    h = rt.call_later(0.05, lambda x: c.set_result((x, rt.time(), threading.get_ident())), "arg")
    assert isinstance(h, runtime.TimerHandle)
    assert not h.cancelled()
    assert h.when() >= start + 0.05 - 1e-6
    x, fired_at, ident = c.result(timeout=10)
    assert x == "arg"
    assert fired_at >= h.when() - 1e-3  # never before its deadline
    assert ident != threading.get_ident()


def test_negative_and_zero_delay_mean_now(rt):
    done = [runtime.Completion() for _ in range(3)]
    rt.call_later(-5, done[0].set_result, 0)
    rt.call_later(0, done[1].set_result, 1)
    rt.call_later(float("nan"), done[2].set_result, 2)
    assert [c.result(timeout=10) for c in done] == [0, 1, 2]


def test_call_at_uses_time_clock(rt):
    c = runtime.Completion()
    when = rt.time() + 0.03
    h = rt.call_at(when, lambda: c.set_result(rt.time()))
    assert abs(h.when() - when) < 1e-3
    assert c.result(timeout=10) >= when - 1e-3
    past = runtime.Completion()
    rt.call_at(rt.time() - 100, past.set_result, "late")
    assert past.result(timeout=10) == "late"


def test_call_at_reports_a_past_deadline_as_given(rt):
    # As asyncio's TimerHandle.when(): the requested time, not "now".
    past = runtime.Completion()
    when = rt.time() - 100
    h = rt.call_at(when, past.set_result, "late")
    assert h.when() == when
    assert past.result(timeout=10) == "late"


def test_timers_fire_in_deadline_order(mrt):
    order = []
    done = runtime.Completion()
    lock = threading.Lock()

    def hit(i):
        with lock:
            order.append(i)
            if len(order) == 5:
                done.set_result(None)

    for i in reversed(range(5)):
        mrt.call_later(0.02 * (i + 1), hit, i)
    done.result(timeout=10)
    assert order == [0, 1, 2, 3, 4]


def test_cancel_prevents_callback(rt):
    fired = []
    h = rt.call_later(0.05, fired.append, 1)
    h.cancel()
    h.cancel()
    assert h.cancelled()
    assert "cancelled" in repr(h)
    marker = runtime.Completion()
    rt.call_later(0.1, marker.set_result, None)
    marker.result(timeout=10)
    assert fired == []


def test_call_every_repeats_until_cancelled(rt):
    ticks = []
    enough = threading.Event()

    def tick():
        ticks.append(rt.time())
        if len(ticks) == 5:
            enough.set()

    h = rt.call_every(0.01, tick)
    assert enough.wait(10)
    h.cancel()
    count = len(ticks)
    marker = runtime.Completion()
    rt.call_later(0.05, marker.set_result, None)
    marker.result(timeout=10)
    assert len(ticks) == count
    assert ticks == sorted(ticks)
    assert "repeating" in repr(h)


def test_call_every_rejects_non_positive_interval(rt):
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError):
            rt.call_every(bad, print)


@pytest.mark.parametrize("interval", [1e-12, 1e-10])
def test_call_every_with_a_sub_nanosecond_interval_keeps_ticking(rt, interval):
    ticks = []
    enough = threading.Event()

    def tick():
        ticks.append(1)
        if len(ticks) >= 5:
            enough.set()

    h = rt.call_every(interval, tick)
    try:
        assert enough.wait(5), f"call_every({interval}) stopped after {len(ticks)} tick(s)"
    finally:
        h.cancel()


def test_non_callable_and_bad_delay_types(rt):
    with pytest.raises(TypeError):
        rt.call_later(0.1, None)
    with pytest.raises(TypeError):
        rt.call_at(0.1, 3)
    with pytest.raises(TypeError):
        rt.call_every(0.1, "x")
    with pytest.raises(TypeError):
        rt.call_later("soon", print)


def test_callback_exception_goes_to_handler(rt):
    seen = runtime.Completion()
    rt.set_exception_handler(seen.set_result)
    h = rt.call_later(0, lambda: 1 / 0)
    ctx = seen.result(timeout=10)
    assert isinstance(ctx["exception"], ZeroDivisionError)
    assert ctx["exception"].__traceback__ is not None
    assert ctx["handle"] is h
    assert "timer" in ctx["message"]
    # The runtime still runs timers.
    ok = runtime.Completion()
    rt.call_later(0, ok.set_result, 1)
    assert ok.result(timeout=10) == 1


def test_callback_exception_logged_by_default(rt, caplog):
    with caplog.at_level("ERROR", logger="runtime"):
        done = runtime.Completion()

        def bad():
            try:
                raise RuntimeError("in timer")
            finally:
                rt.call_later(0.02, done.set_result, None)

        rt.call_later(0, bad)
        done.result(timeout=10)
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


def test_repeating_timer_survives_exceptions(rt):
    rt.set_exception_handler(lambda ctx: None)
    count = []
    enough = threading.Event()

    def tick():
        count.append(1)
        if len(count) >= 3:
            enough.set()
        raise ValueError("each time")

    h = rt.call_every(0.01, tick)
    assert enough.wait(10)
    h.cancel()


def test_timers_after_shutdown_raise(rt):
    rt.shutdown()
    with pytest.raises(RuntimeError):
        rt.call_later(0, print)
    with pytest.raises(RuntimeError):
        rt.call_every(1, print)


def test_shutdown_cancels_pending_timers():
    rt = runtime.Runtime()
    fired = []
    rt.call_later(0.05, fired.append, 1)
    rt.shutdown()
    time.sleep(0.1)
    assert fired == []


def test_many_timers(mrt):
    n = 10_000
    left = [n]
    lock = threading.Lock()
    done = runtime.Completion()

    def hit():
        with lock:
            left[0] -= 1
            if left[0] == 0:
                done.set_result(True)

    for i in range(n):
        mrt.call_later((i % 10) * 0.001, hit)
    assert done.result(timeout=60)


def test_asyncio_sleep(mrt, run_loop):
    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await mrt.sleep(0.03) is None
        assert loop.time() >= start + 0.03 - 1e-3
        assert await mrt.sleep(-1, "now") == "now"
        values = await asyncio.gather(*[mrt.sleep(0.001 * (i % 5), i) for i in range(500)])
        return values

    assert run_loop(main()) == list(range(500))


def test_asyncio_sleep_cancel(mrt, run_loop):
    async def main():
        t = asyncio.ensure_future(mrt.sleep(3600))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(mrt.sleep(3600), 0.01)

    run_loop(main())


def test_pending_rt_sleep_ends_cancelled_when_the_runtime_shuts_down(
    rt, awaited_across_shutdown
):
    t = awaited_across_shutdown(rt, lambda: rt.sleep(3600))
    assert t is not None, "await rt.sleep() hangs after rt.shutdown()"
    assert t.cancelled()


def test_asyncio_sleep_zero_yields_once(mrt, run_loop):
    """rt.sleep(0) behaves as asyncio.sleep(0): awaiting it lets other ready
    tasks run first. It is an asyncio future, completed at once (a zero
    delay has nothing to wait for)."""
    order = []

    async def other():
        order.append("other")

    async def main():
        loop = asyncio.get_running_loop()
        t = loop.create_task(other())
        f = mrt.sleep(0, "zero")
        assert isinstance(f, asyncio.Future)
        assert f.done() and f.result() == "zero" and f.get_loop() is loop
        assert not f.cancel()  # done: nothing to cancel
        assert await f == "zero"
        order.append("after sleep")
        await t
        assert await mrt.sleep(float("nan")) is None
        # Awaited twice: each await yields once and gives the result.
        assert await f == "zero"

    run_loop(main())
    assert order == ["other", "after sleep"]


def test_sleep_zero_takes_one_loop_pass_like_asyncio(mrt, run_loop):
    """Awaiting rt.sleep(0) resumes the task on the very next pass of the
    loop, as asyncio.sleep(0) does (a callback that reschedules itself
    shows the pass boundary), and still works as a future elsewhere."""

    async def order_with(sleep0):
        loop = asyncio.get_running_loop()
        order = []

        def first_pass():
            order.append("pass 1")
            loop.call_soon(order.append, "pass 2")

        loop.call_soon(first_pass)
        assert await sleep0() == "v"
        order.append("resumed")
        await asyncio.sleep(0.01)
        return order

    async def main():
        ours = await order_with(lambda: mrt.sleep(0, "v"))
        theirs = await order_with(lambda: asyncio.sleep(0, "v"))
        assert ours == theirs == ["pass 1", "resumed", "pass 2"]
        # As a future: gather, and a done callback.
        f = mrt.sleep(0, 3)
        seen = []
        f.add_done_callback(lambda fut: seen.append(fut.result()))
        assert await asyncio.gather(f, mrt.sleep(-1, 4)) == [3, 4]
        await asyncio.sleep(0)
        assert seen == [3]
        # A task cancelled while it sits in the one pass.
        async def sleeper():
            await mrt.sleep(0)

        t2 = asyncio.ensure_future(sleeper())
        await asyncio.sleep(0)  # t2 is now suspended inside rt.sleep(0)
        t2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t2

    run_loop(main())


def test_sleep_zero_shares_one_completed_future_per_loop(mrt, run_loop):
    """rt.sleep(0) with no result returns the running loop's one completed
    future (it can no longer change); a result, or another loop, gets a
    future of its own; it still yields once per await."""

    async def main():
        loop = asyncio.get_running_loop()
        f = mrt.sleep(0)
        assert f is mrt.sleep(0) and f is mrt.sleep(-5) and f is mrt.sleep(float("nan"))
        assert isinstance(f, asyncio.Future)
        assert f.done() and f.result() is None and f.get_loop() is loop
        assert not f.cancel() and not f.cancelled()
        with pytest.raises(asyncio.InvalidStateError):
            f.set_result(1)
        assert f.result() is None  # unchanged
        # Another runtime's sleep(0) on the same loop: the same future.
        other = runtime.Runtime(workers=1)
        try:
            assert other.sleep(0) is f
        finally:
            other.shutdown(wait=True)
        # A result gives a fresh future each time.
        g = mrt.sleep(0, "r")
        assert g is not f and g is not mrt.sleep(0, "r") and await g == "r"
        # A done callback on the shared future runs once, on the loop, and
        # is not kept for later callers.
        seen = []
        f.add_done_callback(seen.append)
        await asyncio.sleep(0)
        assert seen == [f]
        await mrt.sleep(0)
        assert seen == [f]
        # Concurrent awaiters of the shared future each take one pass.
        order = []

        async def step(name):
            order.append(name + "1")
            await mrt.sleep(0)
            order.append(name + "2")

        await asyncio.gather(step("a"), step("b"))
        assert order == ["a1", "b1", "a2", "b2"]
        return f

    first = run_loop(main())
    second = run_loop(main())
    assert first is not second  # one per loop


def test_sleep_zero_ignores_a_foreign_value_in_its_loop_attribute(mrt):
    """Whatever else answers to the loop attribute that holds the shared
    future (a catch-all `__getattr__`, a stray assignment) is not
    returned: rt.sleep(0) still gives a completed future of its own."""

    class CatchAllLoop(asyncio.SelectorEventLoop):
        def __getattr__(self, name):
            return "not a future"

    async def main():
        f = mrt.sleep(0)
        assert isinstance(f, asyncio.Future) and f.done() and f.result() is None
        assert await f is None
        assert mrt.sleep(0) is f
        return True

    stray = asyncio.new_event_loop()
    stray.__dict__["_runtime_sleep_zero"] = "junk"
    for loop in (CatchAllLoop(), stray):
        try:
            assert loop.run_until_complete(main())
        finally:
            loop.close()


def test_sleep_zero_shared_future_does_not_keep_the_loop_alive(mrt):
    import gc
    import weakref

    async def main():
        assert await mrt.sleep(0) is None
        return weakref.ref(asyncio.get_running_loop()), weakref.ref(mrt.sleep(0))

    loop = asyncio.new_event_loop()
    try:
        loop_ref, fut_ref = loop.run_until_complete(main())
    finally:
        loop.close()
    del loop
    gc.collect()
    assert loop_ref() is None and fut_ref() is None


def test_sleep_zero_after_shutdown_raises(run_loop):
    r = runtime.Runtime(workers=1)
    r.shutdown(wait=True)

    async def main():
        with pytest.raises(RuntimeError):
            r.sleep(0)

    run_loop(main())


def test_sleep_outside_loop_raises(mrt):
    with pytest.raises(RuntimeError):
        mrt.sleep(0)
