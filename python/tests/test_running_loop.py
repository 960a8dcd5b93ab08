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
assert _runtime._running_loop_mode() == "undecided"

# Outside a loop: the usual RuntimeError, before and after the decision.
for _ in range(2):
    try:
        rt.sleep(0)
    except RuntimeError:
        pass
    else:
        raise AssertionError("rt.sleep(0) outside a loop did not raise")

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
assert _runtime._running_loop_mode() == expected, _runtime._running_loop_mode()

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

# A child forked inside a running loop has no running loop.
async def fork_inside():
    rt.sleep(0)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child_rt = runtime.Runtime(workers=1)
            try:
                child_rt.sleep(0)
            except RuntimeError:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert rt.sleep(0).get_loop() is asyncio.get_running_loop()
asyncio.run(fork_inside())

rt.shutdown(wait=True)
print("ok", _runtime._running_loop_mode())
'''


def _interpreters():
    """This interpreter, plus one of each other CPython >= 3.10 found."""
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
                [exe, "-S", "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0:
            continue
        version = tuple(int(x) for x in out.stdout.split())
        if version >= (3, 10) and version not in found:
            found[version] = exe
    return sorted(found.items())


INTERPRETERS = _interpreters()


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory):
    """A directory holding only the built ``runtime`` package."""
    dest = tmp_path_factory.mktemp("pkg")
    shutil.copytree(os.path.dirname(runtime.__file__), dest / "runtime")
    return str(dest)


@pytest.mark.parametrize(
    "exe", [exe for _, exe in INTERPRETERS], ids=[f"{v[0]}.{v[1]}" for v, _ in INTERPRETERS]
)
def test_running_loop_in_each_interpreter(exe, package_dir):
    out = subprocess.run(
        [exe, "-S", "-c", CHECKS, package_dir],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    version = subprocess.run(
        [exe, "-S", "-c", "import sys; print(sys.version_info >= (3, 12))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out.stdout.split() == ["ok", "asyncio" if version == "True" else "holder"]

