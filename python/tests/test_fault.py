"""Fault injection: the process runs out of file descriptors (EMFILE).

The soft RLIMIT_NOFILE is lowered just above the highest fd in use and the
rest of the table is filled with ``os.dup`` until the kernel answers
EMFILE; both are undone in ``finally`` blocks. Checked:

- ``Runtime()`` (both flavors, also with 1-3 fds left, so the reactor's
  partial creation is hit) raises ``OSError`` (EMFILE when nothing is
  left), never crashes, and leaks no fd; in a fresh interpreter,
  ``default_runtime()`` and ``Executor.submit`` (which create the
  process-wide runtime) do the same, the executor stays usable, and the
  runtime is created once fds are available;
- ``add_reader`` / ``add_writer`` / ``wait_readable`` / ``wait_writable``
  (they duplicate the fd) raise ``OSError`` on a runtime built before, the
  callback is not registered, and a watch made before the table filled
  keeps firing;
- after the limit is restored the same runtime and new ones work, and the
  fd count (/proc/self/fd) is back to where it started.

And thread creation failing (RLIMIT_AS, in a child interpreter):
``Runtime()`` of both flavors raises ``OSError``; ``shutdown(wait=True)``
still completes within its timeout when its helper thread cannot start.
"""

import asyncio
import contextlib
import errno
import gc
import os
import resource
import socket
import subprocess
import sys

import pytest

import runtime

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)"
)

FLAVORS = ["multi_thread", "current_thread"]


def fd_count():
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def fd_table_full(left=0):
    """Lowers the soft fd limit and fills the table, leaving `left` free."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    src = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    fillers = []
    limit = highest + 34
    if soft != resource.RLIM_INFINITY:
        limit = min(soft, limit)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        while True:
            try:
                fillers.append(os.dup(src))
            except OSError as e:
                assert e.errno == errno.EMFILE, e
                break
            assert len(fillers) < 100_000, "the lowered limit did not take effect"
        for _ in range(min(left, len(fillers))):
            os.close(fillers.pop())
        yield
    finally:
        for fd in fillers:
            os.close(fd)
        os.close(src)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def is_emfile(e):
    """An OSError for EMFILE. The module's OSErrors carry the errno text
    ("... (os error 24)"); `errno` itself is checked separately below."""
    return isinstance(e, OSError) and (
        e.errno == errno.EMFILE or f"(os error {errno.EMFILE})" in str(e)
    )


def fd_targets():
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return out


@pytest.fixture
def baseline_fds():
    # Garbage of earlier tests (a runtime or loop in a reference cycle)
    # would otherwise be collected during the test and lower the count.
    gc.collect()
    before = fd_targets()
    yield fd_count()
    # An asyncio loop's delivery eventfd lives as long as the loop object,
    # which an exception traceback cycle may keep until a collection.
    gc.collect()
    after = fd_targets()
    leaked = set(after.items()) - set(before.items())
    assert not leaked, f"fds leaked: {sorted(leaked)}"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_runtime_raises_oserror_and_recovers(flavor, baseline_fds):
    for left in range(4):
        rt = None
        err = None
        with fd_table_full(left):
            try:
                rt = runtime.Runtime(workers=1, flavor=flavor)
            except OSError as e:
                err = e
        if left == 0:
            assert err is not None, "Runtime() succeeded with no fd left"
            assert is_emfile(err), repr(err)
        if rt is not None:
            # Built with the few fds left: it must work.
            assert rt.spawn(lambda: 3).result(timeout=10) == 3
            rt.shutdown(wait=True)
        assert fd_count() == baseline_fds, f"fds leaked by Runtime() with {left} left"
    # Works again.
    with runtime.Runtime(workers=1, flavor=flavor) as rt:
        assert rt.spawn(lambda: 4).result(timeout=10) == 4


CHILD = r"""
import errno, os, resource, sys
sys.path[:0] = [sys.argv[1]]
import runtime
from test_fault import fd_table_full, is_emfile

ex = runtime.Executor(max_workers=2)  # takes no fd: it uses default_runtime()
with fd_table_full():
    for make in (runtime.default_runtime, lambda: ex.submit(pow, 2, 5)):
        try:
            make()
        except OSError as e:
            assert is_emfile(e), repr(e)
        else:
            raise AssertionError("succeeded with the fd table full")
# The process-wide runtime is created once fds are available again, and the
# executor whose submit failed is not broken.
assert ex.submit(pow, 2, 5).result(timeout=10) == 32
ex.shutdown(wait=True)
assert runtime.default_runtime().spawn(lambda: 6).result(timeout=10) == 6
print("child ok")
"""


def test_default_runtime_and_executor_raise_oserror_in_a_fresh_process():
    # A fresh interpreter, so the process-wide default runtime does not
    # exist yet (other tests here may have created it).
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run(
        [sys.executable, "-c", CHILD, here],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "child ok" in r.stdout


@pytest.mark.parametrize("flavor", FLAVORS)
def test_fd_watches_raise_oserror_and_recover(flavor, baseline_fds):
    rt = runtime.Runtime(workers=1, flavor=flavor)
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    for s in (a, b, c, d):
        s.setblocking(False)
    loop = asyncio.new_event_loop()
    try:
        early = runtime.Completion()
        rt.add_reader(a, lambda: early.done() or early.set_result(a.recv(10)))
        calls = []
        with fd_table_full():
            for add in (rt.add_reader, rt.add_writer):
                with pytest.raises(OSError) as info:
                    add(c, calls.append, "called")
                assert is_emfile(info.value), repr(info.value)

            async def wait(fn):
                return await fn(c)

            for fn in (rt.wait_readable, rt.wait_writable):
                with pytest.raises(OSError) as info:
                    loop.run_until_complete(wait(fn))
                assert is_emfile(info.value), repr(info.value)
            # The failed calls registered nothing...
            assert rt.remove_reader(c) is False
            assert rt.remove_writer(c) is False
            # ...and the watch made before still fires.
            b.send(b"x")
            assert early.result(timeout=10) == b"x"
        assert calls == []
        rt.remove_reader(a)

        # Everything works again.
        got = runtime.Completion()
        rt.add_reader(c, lambda: got.done() or got.set_result(c.recv(10)))
        d.send(b"y")
        assert got.result(timeout=10) == b"y"
        assert rt.remove_reader(c) is True
        loop.run_until_complete(asyncio.wait_for(wait(rt.wait_writable), 10))
    finally:
        loop.close()
        rt.shutdown(wait=True)
        for s in (a, b, c, d):
            s.close()


def test_oserror_carries_errno(baseline_fds):
    # Like os.dup() or socket.socket(), an OS failure should be testable
    # through `errno` (and get the errno's OSError subclass).
    rt = runtime.Runtime(workers=1)
    a, b = socket.socketpair()
    try:
        with fd_table_full():
            with pytest.raises(OSError) as built:
                runtime.Runtime(workers=1)
            with pytest.raises(OSError) as watched:
                rt.add_reader(a, lambda: None)
        for e in (built.value, watched.value):
            assert e.errno == errno.EMFILE, repr(e)
            assert e.strerror == os.strerror(errno.EMFILE), repr(e)
    finally:
        rt.shutdown(wait=True)
        a.close()
        b.close()


# Thread creation fails: RLIMIT_AS is lowered to 1 MiB above the current
# address space, so no new thread stack fits (checked first). Run in a
# child interpreter: the limit is process-wide, and a hang or crash there
# fails the test instead of the suite.
CHILD_THREADS = r"""
import os, resource, sys, threading, time
import runtime

mode = sys.argv[1]
rt = runtime.Runtime(workers=1)
deadline = time.monotonic() + 1.0

started = threading.Event()

def blocker():
    started.set()
    # Takes the GIL between short sleeps, until the deadline.
    while time.monotonic() < deadline:
        time.sleep(0.02)
    return "done"

task = rt.spawn_blocking(blocker)
assert started.wait(30)
soft, hard = resource.getrlimit(resource.RLIMIT_AS)

def lower():
    # 1 MiB above the address space in use now. A thread that is still
    # setting up (malloc arena) may briefly map more, so this is retried
    # until a new thread really cannot start.
    vm = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = vm + (1 << 20)
    if soft != resource.RLIM_INFINITY:
        limit = min(soft, limit)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        t = threading.Thread(target=lambda: None)
        t.start()
    except RuntimeError:
        return True
    t.join()
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    time.sleep(0.05)
    return False

try:
    assert any(lower() for _ in range(20)), "calibration: threads could still be started"
    if mode == "build":
        for flavor in ("multi_thread", "current_thread"):
            try:
                runtime.Runtime(workers=1, flavor=flavor)
            except OSError as e:
                print("Runtime(flavor=%r): %r" % (flavor, e))
            else:
                raise AssertionError("Runtime(%r) started threads" % flavor)
    else:
        # Its helper thread cannot start: must still shut down, bounded.
        rt.shutdown(wait=True, timeout=30)
        assert rt.closed
finally:
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
assert task.result(timeout=30) == "done"
for flavor in ("multi_thread", "current_thread"):
    with runtime.Runtime(workers=1, flavor=flavor) as r2:
        assert r2.spawn(lambda: 7).result(timeout=10) == 7
rt.shutdown(wait=True)
print("child ok")
"""


def run_child_threads(mode):
    try:
        r = subprocess.run(
            [sys.executable, "-c", CHILD_THREADS, mode],
            capture_output=True,
            text=True,
            timeout=30,  # hang detection only: the child needs ~1 s
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"child hung: {e.stdout!r} {e.stderr!r}") from None
    assert r.returncode == 0, r.stdout + r.stderr
    assert "child ok" in r.stdout


def test_runtime_raises_oserror_when_threads_cannot_start():
    run_child_threads("build")


def test_shutdown_completes_when_its_helper_thread_cannot_start():
    run_child_threads("shutdown")
