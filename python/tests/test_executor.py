"""runtime.Executor: the concurrent.futures contract, asyncio's executor
hooks, and the interpreter-exit behaviour CPython's suite checks in
subprocesses."""

import asyncio
import concurrent.futures as cf
import gc
import operator
import os
import subprocess
import sys
import threading
import time
import weakref

import pytest

import runtime


@pytest.fixture
def ex():
    e = runtime.Executor(max_workers=4)
    try:
        yield e
    finally:
        e.shutdown(wait=True)


def test_is_a_thread_pool_executor(ex):
    assert isinstance(ex, cf.Executor)
    assert isinstance(ex, cf.ThreadPoolExecutor)
    assert ex.runtime is runtime.default_runtime()
    assert "max_workers=4" in repr(ex)


def test_submit_returns_real_future(ex):
    f = ex.submit(pow, 2, 10)
    assert isinstance(f, cf.Future)
    assert f.result(timeout=10) == 1024
    # The module's functions and asyncio take it as any Future.
    fs = [ex.submit(pow, 2, i) for i in range(5)]
    done, not_done = cf.wait(fs, timeout=10)
    assert len(done) == 5 and not not_done
    assert sorted(x.result() for x in cf.as_completed(fs, timeout=10)) == [1, 2, 4, 8, 16]

    async def wrapped():
        return await asyncio.wrap_future(ex.submit(pow, 3, 2))

    assert asyncio.run(wrapped()) == 9


def test_result_waits_past_the_spin(ex):
    """result() watches for a quick result first (GIL released), then
    blocks as usual: slow calls, timeouts, exceptions and cancellation
    behave as with ThreadPoolExecutor."""
    slow = ex.submit(time.sleep, 0.05)
    assert slow.result(timeout=10) is None
    gate = threading.Event()
    blocked = ex.submit(gate.wait, 10)
    with pytest.raises(cf.TimeoutError):
        blocked.result(timeout=0.01)
    with pytest.raises(cf.TimeoutError):
        blocked.result(timeout=0)
    with pytest.raises(cf.TimeoutError):
        blocked.exception(timeout=0.001)
    gate.set()
    assert blocked.result(timeout=10) is True
    assert isinstance(ex.submit(divmod, 1, 0).exception(timeout=10), ZeroDivisionError)
    # Back-to-back calls from several threads all get their own results.
    out = {}

    def caller(k):
        out[k] = [ex.submit(operator.add, k, i).result(timeout=10) for i in range(200)]

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {k: [k + i for i in range(200)] for k in range(4)}


def test_submit_exception_and_keyword_fn(ex):
    f = ex.submit(divmod, 1, 0)
    with pytest.raises(ZeroDivisionError):
        f.result(timeout=10)
    assert ex.submit(dict, fn=1, self=2).result(timeout=10) == {"fn": 1, "self": 2}
    with pytest.raises(TypeError):
        ex.submit(fn=dict)


def test_map_chunksize_and_timeout(ex):
    assert list(ex.map(pow, range(20), range(20), chunksize=4)) == [i**i for i in range(20)]
    gate = threading.Event()
    it = ex.map(lambda x: gate.wait(), [1, 2], timeout=0.01)
    with pytest.raises(cf.TimeoutError):
        next(it)
    gate.set()


def test_wait_and_as_completed(ex):
    fs = [ex.submit(pow, i, 2) for i in range(50)]
    done, not_done = cf.wait(fs, timeout=30)
    assert not not_done
    assert sorted(f.result() for f in cf.as_completed(fs)) == sorted(i * i for i in range(50))


def test_max_workers_bounds_concurrency():
    ex = runtime.Executor(max_workers=2)
    lock = threading.Lock()
    current = peak = 0

    def work():
        nonlocal current, peak
        with lock:
            current += 1
            peak = max(peak, current)
        time.sleep(0.005)
        with lock:
            current -= 1

    for f in [ex.submit(work) for _ in range(30)]:
        f.result(timeout=30)
    ex.shutdown()
    assert 1 <= peak <= 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        runtime.Executor(max_workers=0)
    with pytest.raises(TypeError):
        runtime.Executor(initializer=5)
    with pytest.raises(TypeError):
        runtime.Executor(runtime="nope")


def test_shutdown_semantics():
    ex = runtime.Executor(max_workers=1)
    gate = threading.Event()
    started = threading.Event()
    first = ex.submit(lambda: (started.set(), gate.wait())[1])
    assert started.wait(30)  # running: cancel_futures leaves it alone
    queued = [ex.submit(int) for _ in range(5)]
    threading.Timer(0.05, gate.set).start()
    ex.shutdown(wait=True, cancel_futures=True)
    assert first.result() is True
    assert all(f.cancelled() for f in queued)
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(int)
    ex.shutdown()  # idempotent


def test_shutdown_wait_runs_queued_work():
    ex = runtime.Executor(max_workers=1)
    fs = [ex.submit(time.sleep, 0.001) for _ in range(10)]
    ex.shutdown(wait=True)
    assert all(f.done() and f.exception() is None for f in fs)


def test_context_manager():
    with runtime.Executor() as ex:
        f = ex.submit(len, "abc")
    assert f.result() == 3
    with pytest.raises(RuntimeError):
        ex.submit(len, "x")


def test_explicit_runtime():
    with runtime.Runtime(workers=1, max_blocking=2) as rt:
        with runtime.Executor(runtime=rt) as ex:
            assert ex.runtime is rt
            assert ex.submit(lambda: 5).result(timeout=10) == 5
    with pytest.raises(RuntimeError, match="shut down"):
        runtime.Executor(runtime=rt).submit(int)


def test_initializer_runs_once_per_thread():
    local = threading.local()
    calls = []

    def init(tag):
        local.tag = tag
        calls.append(threading.get_ident())

    with runtime.Executor(max_workers=2, initializer=init, initargs=("x",)) as ex:
        tags = [f.result(timeout=10) for f in [ex.submit(lambda: local.tag) for _ in range(20)]]
    assert tags == ["x"] * 20
    assert len(calls) == len(set(calls))


def test_failing_initializer_breaks_pool(caplog):
    def bad_init():
        raise ValueError("init failed")

    ex = runtime.Executor(max_workers=1, initializer=bad_init)
    with caplog.at_level("CRITICAL", logger="concurrent.futures"):
        f = ex.submit(int)
        with pytest.raises(cf.BrokenExecutor):
            f.result(timeout=10)
    assert any("Exception in initializer" in r.getMessage() for r in caplog.records)
    with pytest.raises(cf.thread.BrokenThreadPool):
        ex.submit(int)
    ex.shutdown()


def test_work_item_references_released(ex):
    class Obj:
        pass

    arg, ret = Obj(), Obj()
    arg_ref = weakref.ref(arg)
    ret_ref = weakref.ref(ret)

    def fn(a):
        return ret

    f = ex.submit(fn, arg)
    del arg
    assert f.result(timeout=10) is ret
    del ret
    # fn's args, then its result, are released once the item ran (the
    # worker may still be on its way out of the call when result() returns).
    wait_released(arg_ref)
    assert ret_ref() is not None  # the future still holds its result
    del f
    wait_released(ret_ref)


def wait_released(ref):
    deadline = time.monotonic() + 5
    while ref() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.001)
    assert ref() is None


def test_run_in_executor(ex, run_loop):
    async def main():
        loop = asyncio.get_running_loop()
        a = await loop.run_in_executor(ex, pow, 3, 3)
        b = await asyncio.gather(*[loop.run_in_executor(ex, len, "x" * i) for i in range(20)])
        with pytest.raises(KeyError):
            await loop.run_in_executor(ex, {}.__getitem__, 1)
        return a, b

    assert run_loop(main()) == (27, list(range(20)))


def test_set_default_executor_and_to_thread(run_loop):
    ex = runtime.Executor(max_workers=3)
    ran_on = []

    def work(x):
        ran_on.append(threading.get_ident())
        return x * 2

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ex)
        r1 = await loop.run_in_executor(None, work, 2)
        r2 = await asyncio.to_thread(work, 5) if hasattr(asyncio, "to_thread") else 10
        await loop.shutdown_default_executor()
        return r1, r2

    assert run_loop(main()) == (4, 10)
    assert threading.get_ident() not in ran_on
    with pytest.raises(RuntimeError):
        ex.submit(int)


def test_wrap_future(ex, run_loop):
    async def main():
        return await asyncio.wrap_future(ex.submit(sum, [1, 2, 3]))

    assert run_loop(main()) == 6


def _run_script(body, timeout=120):
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-c", body],
        capture_output=True,
        timeout=timeout,
        env=env,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_interpreter_exit_runs_submitted_work():
    rc, out, err = _run_script(
        "import runtime, time\n"
        "def f():\n"
        "    time.sleep(0.2); print('apple', flush=True)\n"
        "ex = runtime.Executor(5)\n"
        "ex.submit(f)\n"
    )
    assert rc == 0, err
    assert out.strip() == "apple"
    assert err == ""


def test_interpreter_exit_after_shutdown_no_wait():
    rc, out, err = _run_script(
        "import runtime, time\n"
        "def f():\n"
        "    time.sleep(0.2); print('apple', flush=True)\n"
        "ex = runtime.Executor(max_workers=3)\n"
        "ex.submit(f)\n"
        "ex.shutdown(wait=False)\n"
    )
    assert rc == 0, err
    assert out.strip() == "apple"
    assert err == ""


def test_submit_after_interpreter_shutdown():
    rc, out, err = _run_script(
        "import atexit, runtime\n"
        "@atexit.register\n"
        "def run_last():\n"
        "    try:\n"
        "        ex.submit(id, None)\n"
        "    except RuntimeError:\n"
        "        print('runtime-error')\n"
        "        raise\n"
        "ex = runtime.Executor(5)\n"
    )
    assert "RuntimeError: cannot schedule new futures" in err
    assert out.strip() == "runtime-error"


def test_runtime_tasks_finish_at_interpreter_exit():
    # Running work finishes before the interpreter goes away (work that
    # has not started when the runtime shuts down is cancelled).
    rc, out, err = _run_script(
        "import runtime, threading, time\n"
        "started = threading.Event()\n"
        "rt = runtime.Runtime()\n"
        "rt.spawn_blocking(lambda: (started.set(), time.sleep(0.2), print('done', flush=True)))\n"
        "started.wait()\n"
    )
    assert rc == 0, err
    assert out.strip() == "done"


def test_exit_waits_for_python_running_on_a_runtime_shut_down_without_waiting():
    # The worker is in a Python call when the runtime is shut down without
    # waiting: the call finishes before the interpreter goes away (it used
    # to be cut off: CPython ends a thread that takes the GIL while it
    # finalizes).
    rc, out, err = _run_script(
        "import runtime, threading, time\n"
        "started = threading.Event()\n"
        "rt = runtime.Runtime(workers=1)\n"
        "rt.spawn(lambda: (started.set(), time.sleep(0.2), print('done', flush=True)))\n"
        "started.wait()\n"
        "rt.shutdown(wait=False)\n"
    )
    assert rc == 0, err
    assert out.strip() == "done"
    assert err == ""


def test_exit_still_tells_threads_waiting_on_a_runtime_shutting_down_in_the_background():
    # A non-daemon thread waits on a task queued behind a running one; the
    # main thread shuts the runtime down without waiting and exits. While
    # the interpreter joins that thread, the task ends (it runs, or it is
    # cancelled): its done-callback must still run and the waiter must
    # still get its outcome, so that the join ends.
    rc, out, err = _run_script(
        "import os, runtime, threading, time\n"
        # One write(2) per line: print() from two threads can interleave.
        "def say(*words):\n"
        "    os.write(1, (' '.join(map(str, words)) + '\\n').encode())\n"
        "started = threading.Event()\n"
        "rt = runtime.Runtime(workers=1)\n"
        "rt.spawn(lambda: (started.set(), time.sleep(0.3)))\n"
        "started.wait()\n"
        "b = rt.spawn(int)\n"
        "b.add_done_callback(lambda t: say('callback'))\n"
        "def waiter():\n"
        "    try:\n"
        "        say('result', b.result())\n"
        "    except runtime.CancelledError:\n"
        "        say('cancelled')\n"
        "threading.Thread(target=waiter).start()\n"
        "time.sleep(0.05)\n"
        "rt.shutdown(wait=False)\n"
    )
    assert rc == 0, err
    lines = sorted(out.split())
    assert "callback" in lines and ("cancelled" in lines or "result" in lines), out
    assert err == ""


def test_exit_with_daemon_threads_blocked_in_result_does_not_crash():
    # Daemon threads wait (GIL released, taking it back every 50 ms to
    # check for signals) on completions nobody sets. One that took the GIL
    # back during finalization was ended by CPython with pthread_exit, and
    # the forced unwind through PyO3's frames aborted the process: 11 runs
    # in 20 of this script before the fix. Now such a thread parks once the
    # exit gate is closed.
    script = (
        "import runtime, threading, time\n"
        "cs = [runtime.Completion() for _ in range(8)]\n"
        "for c in cs:\n"
        "    threading.Thread(target=c.result, daemon=True).start()\n"
        "time.sleep(0.1)\n"
        "print('end', flush=True)\n"
    )
    for _ in range(5):
        rc, out, err = _run_script(script)
        assert (rc, out.strip(), err) == (0, "end", "")


def test_exit_while_runtimes_shut_down_without_waiting_does_not_crash():
    # Each round leaves a runtime shutting down in the background (20,000
    # timers, 20,000 queued tasks behind a sleeping one, 2,000 rt.sleep
    # futures) when the interpreter exits. A runtime thread taking the GIL
    # during finalization was ended by CPython with pthread_exit, whose
    # forced unwind hit the runtime's catch_unwind: glibc aborted the
    # process ("FATAL: exception not rethrown") in 7 runs of 8.
    script = (
        "import asyncio, time, runtime\n"
        "def noop(*a): pass\n"
        "loop = asyncio.new_event_loop()\n"
        "for i in range(3):\n"
        "    busy = runtime.Runtime(workers=1)\n"
        "    for _ in range(20_000): busy.call_later(3600, noop, object())\n"
        "    busy.spawn(time.sleep, 0.05)\n"
        "    for _ in range(20_000): busy.spawn(noop, object())\n"
        "    async def sleeps():\n"
        "        return [busy.sleep(3600, object()) for _ in range(2_000)]\n"
        "    pending = loop.run_until_complete(sleeps())\n"
        "    busy.shutdown(wait=False)\n"
        "    for f in pending: f.cancel()\n"
        "    del pending\n"
        "loop.close()\n"
        "print('end', flush=True)\n"
    )
    for _ in range(3):
        rc, out, err = _run_script(script)
        assert (rc, out.strip(), err) == (0, "end", "")


def test_runtime_shutdown_cancels_unstarted_work():
    rt = runtime.Runtime(max_blocking=1)
    ex = runtime.Executor(max_workers=4, runtime=rt)
    gate = threading.Event()
    started = threading.Event()
    first = ex.submit(lambda: (started.set(), gate.wait()))
    assert started.wait(10)
    # The blocking pool's only thread is busy: these workers cannot start.
    later = [ex.submit(int) for _ in range(6)]
    threading.Timer(0.05, gate.set).start()
    rt.shutdown(wait=True)
    assert first.result(timeout=10)[1] is True
    for f in later:
        # Either run by the busy worker after it finished, or cancelled:
        # never left pending.
        assert f.done()
    ex.shutdown(wait=True)  # must not hang


def test_shutdown_cancel_futures_cancels_items_of_workers_not_started():
    # The blocking pool's only thread runs one item: the workers started
    # for the other three wait for a thread, each with its first item
    # handed to it directly (not in the work queue). Those items have not
    # started, so shutdown(cancel_futures=True) cancels them, as
    # ThreadPoolExecutor cancels the items its threads have not taken yet.
    with runtime.Runtime(max_blocking=1) as rt:
        ex = runtime.Executor(max_workers=4, runtime=rt)
        ran = []
        started = threading.Event()

        def work(k):
            ran.append(k)
            started.set()
            time.sleep(0.3)
            return k

        fs = [ex.submit(work, k) for k in range(4)]
        assert started.wait(10)
        ex.shutdown(wait=True, cancel_futures=True)
        assert len(ran) == 1, ran
        assert fs[ran[0]].result(timeout=10) == ran[0]
        assert [f.cancelled() for f in fs].count(True) == 3

    # The workers' runtime tasks are cancelled with their items: shutdown
    # does not wait for a blocking thread (held by other work here) only
    # for them to find nothing to do.
    with runtime.Runtime(max_blocking=1) as rt:
        gate = threading.Event()
        started = threading.Event()
        other = rt.spawn_blocking(lambda: (started.set(), gate.wait(10))[1])
        try:
            assert started.wait(10)
            ex = runtime.Executor(max_workers=4, runtime=rt)
            fs = [ex.submit(int) for _ in range(3)]
            t = time.monotonic()
            ex.shutdown(wait=True, cancel_futures=True)
            assert time.monotonic() - t < 5
            assert all(f.cancelled() for f in fs)
        finally:
            gate.set()
        assert other.result(timeout=10) is True


def test_shutdown_in_own_work_item_raises_instead_of_hanging():
    # ThreadPoolExecutor: shutdown(wait=True) from one of its own threads
    # raises RuntimeError ("cannot join current thread") after marking the
    # executor shut down. It used to wait for the calling worker itself,
    # for ever (and interpreter exit with it): run it in a child process.
    rc, out, err = _run_script(
        "import runtime\n"
        "ex = runtime.Executor(max_workers=2)\n"
        "f = ex.submit(lambda: ex.shutdown(wait=True))\n"
        "try:\n"
        "    f.result(10)\n"
        "except RuntimeError as e:\n"
        "    print('runtime-error', e, flush=True)\n"
        "try:\n"
        "    ex.submit(int)\n"
        "except RuntimeError as e:\n"
        "    print('shut-down', e, flush=True)\n"
        # From a done-callback on the worker thread: the callback's error
        # is logged, the worker goes on.
        "import threading\n"
        "ex2 = runtime.Executor(max_workers=1)\n"
        "gate = threading.Event()\n"
        "g = ex2.submit(gate.wait, 10)\n"
        "g.add_done_callback(lambda _: ex2.shutdown(wait=True))\n"
        "gate.set()\n"
        "g.result(10)\n"
        "ex2.shutdown(wait=True)\n"
        "ex.shutdown(wait=True)\n"
        "print('end', flush=True)\n",
        timeout=30,
    )
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("runtime-error cannot join current thread"), out
    assert lines[1] == "shut-down cannot schedule new futures after shutdown", out
    assert lines[2] == "end", out
    assert "exception calling callback" in err and "cannot join current thread" in err, err


def test_base_exception_from_done_callback_does_not_break_worker_accounting():
    # A done-callback raising SystemExit (concurrent.futures only catches
    # Exception from callbacks) ends the worker: it is logged as
    # ThreadPoolExecutor logs it, the worker is no longer counted (shutdown
    # used to wait for it for ever, and interpreter exit with it: run it in
    # a child process), and the item queued behind it still runs.
    rc, out, err = _run_script(
        "import runtime, threading, time\n"
        "ex = runtime.Executor(max_workers=1)\n"
        "gate = threading.Event()\n"
        "f = ex.submit(gate.wait, 10)\n"
        "def boom(_):\n"
        "    raise SystemExit(3)\n"
        "f.add_done_callback(boom)\n"
        "g = ex.submit(print, 'queued-ran', flush=True)\n"
        "gate.set()\n"
        "t = time.monotonic()\n"
        "ex.shutdown(wait=True)\n"
        "print('shutdown', time.monotonic() - t < 5, f.result(), g.done(), flush=True)\n",
        timeout=30,
    )
    assert rc == 0, err
    assert out.splitlines() == ["queued-ran", "shutdown True True True"], out
    assert "Exception in worker" in err and "SystemExit: 3" in err, err


# ---- Executor.map (runner work items claiming items one at a time) --------


def test_map_results_in_order_with_several_iterables(ex):
    assert list(ex.map(lambda x: x * 2, range(5000))) == [x * 2 for x in range(5000)]
    assert list(ex.map(pow, [2, 3, 4], [5, 6])) == [32, 729]
    assert list(ex.map(abs, [])) == []


def test_map_raises_at_the_failing_position_and_runs_the_rest(ex):
    ran = []

    def f(x):
        ran.append(x)
        return 10 // x

    it = ex.map(f, [5, 2, 0, 1])
    assert next(it) == 2
    assert next(it) == 5
    with pytest.raises(ZeroDivisionError):
        next(it)
    # The item after the failing one was scheduled like every other.
    deadline = time.monotonic() + 10
    while len(ran) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(ran) == [0, 1, 2, 5]


def test_map_runs_items_in_parallel_up_to_max_workers():
    # Each item waits for all four at a barrier: only passes if four items
    # run at once (a runner per worker, not one chunk per runner).
    ex = runtime.Executor(max_workers=4)
    try:
        b = threading.Barrier(4, timeout=30)
        assert list(ex.map(lambda _: b.wait() >= 0, range(8))) == [True] * 8
    finally:
        ex.shutdown(wait=True)


def test_map_never_exceeds_max_workers():
    ex = runtime.Executor(max_workers=2)
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def f(x):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.001)
        with lock:
            running[0] -= 1
        return x

    try:
        futs = [ex.submit(f, -1) for _ in range(3)]
        assert list(ex.map(f, range(50))) == list(range(50))
        assert [fu.result() for fu in futs] == [-1] * 3
    finally:
        ex.shutdown(wait=True)
    assert peak[0] <= 2


def test_map_timeout(ex):
    gate = threading.Event()
    it = ex.map(lambda _: gate.wait(30), range(2), timeout=0.05)
    with pytest.raises(cf.TimeoutError):
        list(it)
    gate.set()


def test_map_closed_early_drops_unstarted_items():
    ex = runtime.Executor(max_workers=1)
    ran = []
    gate = threading.Event()

    def f(x):
        ran.append(x)
        if x == 1:
            gate.wait(30)
        return x

    try:
        it = ex.map(f, range(100))
        assert next(it) == 0
        deadline = time.monotonic() + 30
        while len(ran) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        it.close()  # while the only runner is inside item 1
        gate.set()
        ex.shutdown(wait=True)
    finally:
        gate.set()
    # The runner finished item 1 and claimed nothing after the close.
    assert ran == [0, 1]


def test_map_items_cancelled_by_shutdown_raise_cancelled():
    ex = runtime.Executor(max_workers=1)
    gate = threading.Event()
    started = threading.Event()
    try:
        # Running before the shutdown (a worker that has not started yet
        # would have its item cancelled too).
        blocker = ex.submit(lambda: (started.set(), gate.wait(30))[1])
        assert started.wait(30)
        it = ex.map(abs, range(3))  # its runner is queued behind `blocker`
        ex.shutdown(wait=False, cancel_futures=True)
        gate.set()
        assert blocker.result(timeout=30) is True
        with pytest.raises(cf.CancelledError):
            next(it)
    finally:
        gate.set()
        ex.shutdown(wait=True)


def test_map_stops_at_shutdown_cancel_futures():
    # ThreadPoolExecutor cancels map's calls not started yet; its runner
    # used to go on claiming items until the input ran out.
    ex = runtime.Executor(max_workers=1)
    ran = []
    started = threading.Event()
    gate = threading.Event()

    def f(x):
        ran.append(x)
        if x == 0:
            started.set()
            gate.wait(10)
        time.sleep(0.05)
        return x

    try:
        it = ex.map(f, range(20))
        assert started.wait(10)
        # Shut down while the runner is inside item 0.
        threading.Timer(0.05, gate.set).start()
        t = time.monotonic()
        ex.shutdown(wait=True, cancel_futures=True)
        assert time.monotonic() - t < 0.5
        assert ran == [0]
        assert next(it) == 0
        with pytest.raises(cf.CancelledError):
            next(it)
    finally:
        gate.set()
        ex.shutdown(wait=True)


def test_map_after_shutdown_raises(ex):
    ex.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        ex.map(abs, range(3))


def test_map_keeps_no_reference_to_results(ex):
    class Obj:
        pass

    for obj in ex.map(lambda _: Obj(), range(20)):
        ref = weakref.ref(obj)
        del obj
        gc.collect()
        assert ref() is None


def test_beacon_spin_wait_is_bounded_and_sees_signals():
    b = runtime._runtime._Beacon()
    assert b.seq == 0
    t = time.monotonic()
    assert b.spin_wait(0, 0.02) == 0  # nothing happened: back after the bound
    assert 0.015 <= time.monotonic() - t < 5
    for bound in (-1.0, float("nan"), 0.0):
        t = time.monotonic()
        assert b.spin_wait(0, bound) == 0
        assert time.monotonic() - t < 0.5
    b.signal()
    assert b.spin_wait(0, 10) == 1  # already past `seen`: at once
    # A signal from another thread ends the wait early.
    threading.Timer(0.01, b.signal).start()
    t = time.monotonic()
    assert b.spin_wait(1, 10) == 2
    assert time.monotonic() - t < 5
