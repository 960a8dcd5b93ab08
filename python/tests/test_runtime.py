"""Runtime construction, shutdown, metrics, errors."""

import os
import sys
import threading
import time

import pytest

import runtime


def test_defaults_and_repr():
    with runtime.Runtime() as rt:
        assert rt.flavor == "multi_thread"
        assert not rt.closed
        assert "running" in repr(rt)
    assert rt.closed
    assert "closed" in repr(rt)


def test_workers_and_flavors():
    with runtime.Runtime(workers=3, max_blocking=4) as rt:
        assert rt.metrics()["num_workers"] == 3
    with runtime.Runtime(flavor="current_thread") as rt:
        assert rt.flavor == "current_thread"
        assert rt.spawn(lambda: threading.current_thread().ident).result() != threading.get_ident()


def _thread_name():
    # The OS's name of the calling thread (what ps, top and gdb show).
    with open("/proc/self/task/%d/comm" % threading.get_native_id()) as f:
        return f.read().strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("flavor", ["multi_thread", "current_thread"])
def test_thread_name_names_every_runtime_thread(flavor):
    with runtime.Runtime(flavor=flavor, thread_name="svc-io") as rt:
        assert rt.spawn(_thread_name).result() == "svc-io"
        assert rt.spawn_blocking(_thread_name).result() == "svc-io"
    with runtime.Runtime(flavor=flavor) as rt:
        default = "runtime-worker" if flavor == "multi_thread" else "runtime-driver"
        assert rt.spawn(_thread_name).result() == default
        assert rt.spawn_blocking(_thread_name).result() == "runtime-worker"
    # Linux keeps the first 15 bytes.
    with runtime.Runtime(workers=1, thread_name="a-rather-long-thread-name") as rt:
        assert rt.spawn(_thread_name).result() == "a-rather-long-t"


def test_thread_name_is_keyword_only_and_checked():
    with pytest.raises(TypeError):
        runtime.Runtime(None, None, "multi_thread", "name")
    with pytest.raises(TypeError):
        runtime.Runtime(thread_name=5)
    with pytest.raises(ValueError, match="NUL"):
        runtime.Runtime(thread_name="a\0b")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workers": 0},
        # An absurd count is refused, not an allocation that aborts.
        {"workers": 2**40},
        {"workers": 16385},
        {"max_blocking": 0},
        {"flavor": "nope"},
        {"flavor": "current_thread", "workers": 2},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        runtime.Runtime(**kwargs)


def test_bad_argument_types():
    with pytest.raises(TypeError):
        runtime.Runtime(workers="two")
    with pytest.raises(OverflowError):
        runtime.Runtime(workers=-1)


def test_use_after_shutdown_raises_runtime_error():
    rt = runtime.Runtime()
    rt.shutdown()
    rt.shutdown()  # idempotent
    for call in (
        lambda: rt.spawn(print),
        lambda: rt.spawn_blocking(print),
        lambda: rt.metrics(),
    ):
        with pytest.raises(RuntimeError, match="shut down"):
            call()


def test_shutdown_cancels_queued_tasks_and_waits_for_running_ones():
    rt = runtime.Runtime(workers=1, max_blocking=1)
    started = threading.Event()
    release = threading.Event()

    def block():
        started.set()
        release.wait()
        return "finished"

    running = rt.spawn_blocking(block)
    queued = rt.spawn_blocking(lambda: "never")
    assert started.wait(10)
    threading.Timer(0.05, release.set).start()
    rt.shutdown(wait=True)
    assert running.result(timeout=10) == "finished"
    assert queued.cancelled()
    with pytest.raises(runtime.CancelledError):
        queued.result()


def test_shutdown_without_wait_returns_while_work_runs():
    rt = runtime.Runtime()
    release = threading.Event()
    started = threading.Event()

    def block():
        started.set()
        release.wait()
        return 1

    t = rt.spawn_blocking(block)
    assert started.wait(10)
    rt.shutdown(wait=False)
    assert not t.done()
    release.set()
    assert t.result(timeout=10) == 1


def test_shutdown_timeout_bounds_the_wait():
    rt = runtime.Runtime()
    release = threading.Event()
    started = threading.Event()
    t = rt.spawn_blocking(lambda: (started.set(), release.wait()))
    assert started.wait(10)
    rt.shutdown(wait=True, timeout=0.05)  # returns although the work still runs
    assert not t.done()
    release.set()
    t.result(timeout=10)


def test_shutdown_with_a_nan_timeout_leaves_the_runtime_running():
    rt = runtime.Runtime(workers=1)
    with pytest.raises(ValueError):
        rt.shutdown(wait=True, timeout=float("nan"))
    assert not rt.closed
    assert rt.spawn(pow, 2, 5).result(timeout=10) == 32
    rt.shutdown(wait=True)
    assert rt.closed


def test_shutdown_from_runtime_thread():
    rt = runtime.Runtime()
    with pytest.raises(RuntimeError, match="own threads"):
        rt.spawn_blocking(rt.shutdown).result(timeout=10)
    rt.spawn_blocking(rt.shutdown, wait=False).result(timeout=10)
    assert rt.closed


def test_metrics_dict():
    with runtime.Runtime(workers=2) as rt:
        before = rt.metrics()["spawned_tasks_count"]
        for t in [rt.spawn(int) for _ in range(10)]:
            t.result()
        m = rt.metrics()
        assert m["spawned_tasks_count"] >= before + 10
        for key in (
            "num_workers",
            "num_alive_tasks",
            "injection_queue_depth",
            "num_blocking_threads",
            "worker_local_queue_depth",
        ):
            assert key in m


def test_time_is_monotonic_clock():
    import time

    with runtime.Runtime() as rt:
        a = time.monotonic()
        b = rt.time()
        c = time.monotonic()
        assert a <= b <= c + 1e-3


def test_exception_handler_get_set():
    with runtime.Runtime() as rt:
        assert rt.get_exception_handler() is None
        h = lambda ctx: None
        rt.set_exception_handler(h)
        assert rt.get_exception_handler() is h
        rt.set_exception_handler(None)
        with pytest.raises(TypeError):
            rt.set_exception_handler(42)


def test_default_runtime_is_shared_and_recreated():
    a = runtime.default_runtime()
    assert runtime.default_runtime() is a
    assert a.spawn(lambda: 7).result() == 7


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)
def test_sigint_interrupts_shutdown_wait(sigint_raises):
    import signal

    rt = runtime.Runtime()
    release = threading.Event()
    started = threading.Event()
    t = rt.spawn_blocking(lambda: (started.set(), release.wait()))
    assert started.wait(10)
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            rt.shutdown(wait=True)  # only the signal can end this wait
    finally:
        timer.join()
        release.set()
    assert rt.closed
    t.result(timeout=10)


def test_replacing_a_handler_whose_del_reads_the_handler_does_not_hang():
    # The old handler is dropped after the slot's lock is released (it
    # used to be dropped under it: a self-deadlock). In a child process,
    # so that a regression fails instead of hanging the suite.
    import subprocess

    script = (
        "import runtime\n"
        "rt = runtime.Runtime(workers=1)\n"
        "seen = []\n"
        "class H:\n"
        "    def __call__(self, ctx): pass\n"
        "    def __del__(self): seen.append(rt.get_exception_handler())\n"
        "rt.set_exception_handler(H())\n"
        "rt.set_exception_handler(None)\n"
        "assert seen == [None], seen\n"
        "rt.shutdown()\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "ok"


def test_a_runtime_can_be_shut_down_from_another_runtimes_thread():
    outer = runtime.Runtime(workers=1)

    def work():
        with runtime.Runtime(workers=1) as inner:
            return inner.spawn(lambda: 32).result(timeout=10)

    try:
        assert outer.spawn_blocking(work).result(timeout=30) == 32
        assert runtime.Executor(runtime=outer).submit(work).result(timeout=30) == 32
    finally:
        outer.shutdown()


@pytest.mark.parametrize("flavor", ["multi_thread", "current_thread"])
def test_shutdown_without_waiting_returns_while_a_call_runs(flavor):
    import threading

    started, release = threading.Event(), threading.Event()
    rt = runtime.Runtime(flavor=flavor)
    t = rt.spawn(lambda: (started.set(), release.wait(10)))
    assert started.wait(10)
    t0 = time.monotonic()
    rt.shutdown(wait=False)
    assert time.monotonic() - t0 < 1.0
    rt2 = runtime.Runtime(flavor=flavor)
    t = rt2.spawn(lambda: (started.set(), release.wait(10)))
    t0 = time.monotonic()
    rt2.shutdown(wait=True, timeout=0.2)
    assert time.monotonic() - t0 < 1.5
    release.set()
