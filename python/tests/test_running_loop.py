"""How the module finds the running asyncio loop (python/src/running_loop.rs).

On CPython 3.10 and 3.11 it reads asyncio's running-loop holder instead of
calling ``get_running_loop()`` (which makes a ``getpid`` system call there);
on 3.12 and later it calls ``get_running_loop()``. The checks below run in
a child interpreter of each version that the machine has (the abi3 module
loads in all of them), so the holder path is tested even when the suite
itself runs on 3.13.
"""

import glob
import os
import shutil
import subprocess
import sys

import pytest

import runtime

CHECKS = r'''
import asyncio, gc, os, sys, threading
sys.path.insert(0, sys.argv[1])
import runtime
from runtime import _runtime

expected = "holder" if sys.version_info < (3, 12) else "asyncio"
rt = runtime.Runtime(workers=1)
assert _runtime._running_loop_stats() == ("undecided", 0)

def no_loop_here():
    for call in (lambda: rt.sleep(0), _runtime._running_loop):
        try:
            call()
        except RuntimeError as e:
            assert "no running event loop" in str(e), e
        else:
            raise AssertionError("found a running loop outside one")

no_loop_here()

async def same_loop():
    lp = asyncio.get_running_loop()
    for _ in range(3):
        fut = rt.sleep(0)
        assert fut.get_loop() is lp, (fut.get_loop(), lp)
        assert await fut is None
    fut = rt.sleep(0, "r")
    assert fut.get_loop() is lp and await fut == "r"
    return lp

asyncio.run(same_loop())
mode, hits = _runtime._running_loop_stats()
assert mode == expected, mode
no_loop_here()  # after the decision, and after a loop has run

# Loop after loop on one thread (freed loops' addresses are reused).
for _ in range(20):
    asyncio.run(same_loop())
    gc.collect()

# Two loops on one thread, one after the other, both alive.
a, b = asyncio.new_event_loop(), asyncio.new_event_loop()
for _ in range(3):
    assert a.run_until_complete(same_loop()) is a
    assert b.run_until_complete(same_loop()) is b
a.close(); b.close()

# Loops running at once on other threads each see their own.
errors = []
def in_thread():
    try:
        for _ in range(5):
            asyncio.run(same_loop())
    except BaseException as e:
        errors.append(e)
threads = [threading.Thread(target=in_thread) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors

# Clearing the running loop from inside a loop is seen at once.
async def cleared():
    lp = asyncio.get_running_loop()
    rt.sleep(0)
    asyncio.events._set_running_loop(None)
    try:
        try:
            rt.sleep(0)
        except RuntimeError:
            pass
        else:
            raise AssertionError("rt.sleep(0) saw a cleared loop")
    finally:
        asyncio.events._set_running_loop(lp)
    assert rt.sleep(0).get_loop() is lp
asyncio.run(cleared())

# A child forked inside a running loop has no running loop. (The child
# touches no runtime: it only asks for the loop, then exits.)
async def fork_inside():
    assert _runtime._running_loop() is asyncio.get_running_loop()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _runtime._running_loop()
        except RuntimeError as e:
            code = 0 if "no running event loop" in str(e) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert rt.sleep(0).get_loop() is asyncio.get_running_loop()
asyncio.run(fork_inside())

rt.shutdown(wait=True)
mode, after = _runtime._running_loop_stats()
# On 3.10 and 3.11 the holder answered (nearly) every call made in a loop.
assert (after > 100) if expected == "holder" else (after == 0), (mode, after)
print("ok", mode)
'''


PROBE = (
    "import sys, sysconfig, importlib.machinery, _asyncio; "
    "ok = '.abi3.so' in importlib.machinery.EXTENSION_SUFFIXES "
    "and not sysconfig.get_config_var('Py_GIL_DISABLED'); "
    "print(sys.version_info[0], sys.version_info[1], int(ok))"
)


def _interpreters():
    """This interpreter, plus one of each other CPython >= 3.10 found that
    can load the abi3 module (a GIL build with ``_asyncio``)."""
    found = {sys.version_info[:2]: sys.executable}
    names = [shutil.which(f"python3.{m}") for m in range(10, 15)]
    names.append(shutil.which("python3"))
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    names += sorted(glob.glob(os.path.join(root, "versions", "3.1*", "bin", "python3")))
    for exe in names:
        if not exe:
            continue
        try:
            out = subprocess.run(
                [exe, "-I", "-S", "-c", PROBE], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0:
            continue
        major, minor, ok = (int(x) for x in out.stdout.split())
        version = (major, minor)
        if ok and version >= (3, 10) and version not in found:
            found[version] = exe
    return sorted(found.items())


INTERPRETERS = _interpreters()


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory):
    """A directory holding only the built ``runtime`` package."""
    dest = tmp_path_factory.mktemp("pkg")
    shutil.copytree(os.path.dirname(runtime.__file__), dest / "runtime")
    return str(dest)


PARAMS = [pytest.param(v, exe, id=f"{v[0]}.{v[1]}") for v, exe in INTERPRETERS]
if not any(v < (3, 12) for v, _ in INTERPRETERS):
    # The holder is read through CPython's private layout and only a 3.10
    # or 3.11 runs that path (this machine's python3 is 3.11): say so
    # rather than pass quietly.
    PARAMS.append(
        pytest.param(
            None,
            None,
            id="3.10-or-3.11",
            marks=pytest.mark.skip(reason="no CPython 3.10 or 3.11 with _asyncio here"),
        )
    )


@pytest.mark.parametrize("version, exe", PARAMS)
def test_running_loop_in_each_interpreter(version, exe, package_dir):
    out = subprocess.run(
        [exe, "-I", "-S", "-c", CHECKS, package_dir],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "asyncio" if version >= (3, 12) else "holder"]

