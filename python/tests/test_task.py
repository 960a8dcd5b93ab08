"""Runtime.spawn / spawn_blocking and the Task API, from plain threads."""

import os
import signal
import sys
import threading
import time
import traceback

import pytest

import runtime


def test_spawn_passes_args_and_kwargs(rt):
    t = rt.spawn(lambda a, b, *, c: (a, b, c), 1, 2, c=3)
    assert t.result() == (1, 2, 3)
    assert t.done() and not t.cancelled() and not t.running()
    assert t.exception() is None
    assert "finished" in repr(t)


def test_spawn_blocking_runs_off_the_workers(rt):
    t = rt.spawn_blocking(lambda: threading.get_ident())
    assert t.result(timeout=10) != threading.get_ident()
    assert "blocking" in repr(t)


def test_kwargs_named_like_parameters(rt):
    # `func` is positional-only: callables may take a `func=` keyword.
    assert rt.spawn(lambda func: func, func=3).result() == 3
    assert rt.spawn(dict, timeout=1, wait=2).result() == {"timeout": 1, "wait": 2}


@pytest.mark.parametrize("bad", [None, 42, "str"])
def test_non_callable_raises_type_error(rt, bad):
    with pytest.raises(TypeError):
        rt.spawn(bad)
    with pytest.raises(TypeError):
        rt.spawn_blocking(bad)


def test_missing_callable_is_type_error(rt):
    with pytest.raises(TypeError):
        rt.spawn()


def _fail_deep():
    def inner():
        raise KeyError("deep")

    inner()


def test_exception_propagates_with_traceback(rt):
    t = rt.spawn(_fail_deep)
    with pytest.raises(KeyError) as info:
        t.result()
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "_fail_deep" in frames and "inner" in frames
    exc = t.exception()
    assert isinstance(exc, KeyError)
    assert exc is info.value


def test_base_exceptions_are_captured_not_fatal(rt):
    t = rt.spawn_blocking(sys.exit, 3)
    with pytest.raises(SystemExit):
        t.result()
    t = rt.spawn(lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        t.result()
    # The workers survived.
    assert rt.spawn(lambda: 1).result() == 1


def test_result_timeout(rt):
    release = threading.Event()
    t = rt.spawn_blocking(release.wait)
    with pytest.raises(runtime.TimeoutError):
        t.result(timeout=0.01)
    with pytest.raises(runtime.TimeoutError):
        t.exception(timeout=0)
    assert not t.done()
    release.set()
    assert t.result(timeout=10) is True


def test_result_nan_timeout(rt):
    t = rt.spawn_blocking(threading.Event().wait, 0.01)
    with pytest.raises(ValueError):
        t.result(timeout=float("nan"))
    t.result(timeout=10)


def test_cancel_before_start_and_not_after(rt):
    blocking_rt = runtime.Runtime(max_blocking=1)
    try:
        release = threading.Event()
        started = threading.Event()
        first = blocking_rt.spawn_blocking(lambda: (started.set(), release.wait()))
        second = blocking_rt.spawn_blocking(lambda: "ran")
        assert started.wait(10)
        assert first.running()
        assert not first.cancel()  # running: cannot cancel
        assert second.cancel()
        assert second.cancel()  # idempotent
        assert second.cancelled() and second.done()
        with pytest.raises(runtime.CancelledError):
            second.result()
        with pytest.raises(runtime.CancelledError):
            second.exception()
        release.set()
        first.result(timeout=10)
        assert not first.cancel()  # done: cannot cancel
        assert "cancelled" in repr(second)
    finally:
        blocking_rt.shutdown()


def test_done_callbacks(rt):
    seen = []
    done = threading.Event()
    release = threading.Event()
    t = rt.spawn_blocking(lambda: release.wait() and 5)
    t.add_done_callback(lambda task: seen.append(("first", task.result())))
    t.add_done_callback(lambda task: (seen.append(("second", task is t)), done.set()))
    release.set()
    assert done.wait(10)
    assert seen == [("first", 5), ("second", True)]
    # Already done: runs at once, on this thread.
    ident = []
    t.add_done_callback(lambda task: ident.append(threading.get_ident()))
    assert ident == [threading.get_ident()]
    with pytest.raises(TypeError):
        t.add_done_callback(3)


def test_failing_done_callback_is_logged(rt, caplog):
    t = rt.spawn(lambda: 1)
    t.result()
    with caplog.at_level("ERROR", logger="runtime"):
        t.add_done_callback(lambda task: 1 / 0)
    assert any("exception calling callback" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_ten_thousand_tasks(rt):
    tasks = [rt.spawn(pow, i, 2) for i in range(10_000)]
    assert [t.result() for t in tasks] == [i * i for i in range(10_000)]


def test_callbacks_run_while_main_thread_sleeps(mrt):
    hits = []
    all_done = threading.Event()

    def cb(i):
        hits.append((i, threading.get_ident()))
        if len(hits) == 100:
            all_done.set()

    for i in range(100):
        mrt.spawn(cb, i)
    # The GIL is free while the main thread sleeps: runtime threads run.
    deadline = time.monotonic() + 30
    while not all_done.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(i for i, _ in hits) == list(range(100))
    assert threading.get_ident() not in {ident for _, ident in hits}


def test_nested_spawn_and_blocking_wait_refused_on_worker(mrt):
    def outer():
        inner = mrt.spawn(lambda: 2)
        try:
            inner.result()
        except RuntimeError as e:
            return str(e)
        return "no error"

    msg = mrt.spawn(outer).result(timeout=10)
    assert "worker thread" in msg or msg == "no error"

    # From the blocking pool a blocking wait is fine.
    def outer_blocking():
        return mrt.spawn(lambda: 2).result(timeout=10) * 2

    assert mrt.spawn_blocking(outer_blocking).result(timeout=10) == 4


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)
def test_sigint_interrupts_result(mrt, sigint_raises):
    release = threading.Event()
    t = mrt.spawn_blocking(release.wait)
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            t.result()  # no timeout: only the signal can end it
    finally:
        timer.join()
        release.set()
    assert t.result(timeout=10) is True


def test_task_is_weakrefable(rt):
    import weakref

    t = rt.spawn(int)
    r = weakref.ref(t)
    assert r() is t


def test_spawning_a_coroutine_function_is_a_clear_error(rt):
    async def coro():
        return 1

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        t = rt.spawn(coro)
        with pytest.raises(TypeError, match="coroutine"):
            t.result(timeout=10)
