"""fork() in a process that uses runtimes: the parent's runtimes refuse
work in the child with a clear error, and a child forked while runtime
threads are busy can use the module, and a fresh runtime, at once.

Each test forks inside a fresh interpreter (a subprocess), so that the
children copy only that interpreter's threads, not the ones every earlier
test left in this process, and so that the fork does not happen in the
middle of pytest.
"""

import ast
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def run_script(script, *args, timeout=300):
    """Runs `script` with `args` in a fresh interpreter; returns its last
    stdout line, evaluated."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


FORK_CHILD = r"""
import os, sys, warnings
import runtime

rt = runtime.Runtime()
rt.spawn(int).result()
r, w = os.pipe()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    pid = os.fork()
if pid == 0:  # child
    code = 1
    try:
        rt.spawn(int)
    except RuntimeError as e:
        os.write(w, str(e).encode())
        code = 0
    except BaseException:
        code = 2
    # The default runtime is recreated in the child.
    try:
        if runtime.default_runtime().spawn(lambda: 5).result(timeout=10) != 5:
            code = 3
    except BaseException:
        code = 4
    os._exit(code)
os.close(w)
_, status = os.waitpid(pid, 0)
msg = os.read(r, 1000).decode()
os.close(r)
rt.shutdown()
print(repr((os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1, msg)))
"""


def test_forked_child_gets_clear_error():
    code, msg = run_script(FORK_CHILD)
    assert code == 0, (code, msg)
    assert "another process" in msg


# Each round fills a runtime with work and shuts it down without waiting:
# a helper thread then drops, without the GIL, the callbacks and arguments
# of 20,000 pending timers, 20,000 queued tasks (whose `Task`s are gone, so
# the runtime holds the last reference to their cells) and 2,000 pending
# `rt.sleep` futures' payloads, while this thread forks. The child makes a
# fresh runtime and runs a task on it. Two locks used to be copied held
# into such a child, which then hung for ever: PyO3's reference pool (where
# Python objects dropped without the GIL are queued) and the bucket locks
# of parking_lot's process-wide table of parked threads (the runtime's
# locks were parking_lot's). With timers alone: without the fixes 8
# children in 30 hung; with only the parking_lot one, 19 in 100 (all on
# PyO3's pool); with only the pool one, 2 in 80 (on parking_lot).
FORK_WHILE_DROPPING = r"""
import asyncio, faulthandler, os, signal, sys, time, warnings
import runtime

faulthandler.dump_traceback_later(240, exit=True)  # a hang shows its stacks
warnings.simplefilter("ignore", DeprecationWarning)
ROUNDS = int(sys.argv[1])

def noop(*args):
    pass

loop = asyncio.new_event_loop()
rounds = hung = failed = 0
for i in range(ROUNDS):
    busy = runtime.Runtime(workers=1)
    for _ in range(20_000):
        busy.call_later(3600, noop, object())
    busy.spawn(time.sleep, 0.05)  # holds the one worker: the rest queue
    for _ in range(20_000):
        busy.spawn(noop, object())

    async def sleeps():
        return [busy.sleep(3600, object()) for _ in range(2_000)]

    pending = loop.run_until_complete(sleeps())
    busy.shutdown(wait=False)
    time.sleep(0.001 * (i % 5))
    pid = os.fork()
    if pid == 0:
        # A child stuck for 15 s prints every thread's Python stack (to
        # the test's report) before the parent kills it at 20 s, so a hang
        # shows where it was. (Not `dump_traceback_later`: re-arming it in
        # a child waits for the parent's watchdog thread, which the child
        # does not have.)
        faulthandler.register(signal.SIGALRM, all_threads=True)
        signal.alarm(15)
        code = 0
        try:
            fresh = runtime.Runtime(workers=1)
            if fresh.spawn(lambda: 5).result(timeout=10) != 5:
                code = 3
            fresh.shutdown()
        except BaseException:
            code = 4
        os._exit(code)
    rounds += 1
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                failed += 1
            break
        if time.monotonic() > deadline:
            hung += 1
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    for f in pending:
        f.cancel()
    del pending
    if hung or failed:
        break
loop.close()
print(repr((rounds, hung, failed)))
"""


def test_child_forked_while_runtime_threads_drop_objects_does_not_hang():
    proc = subprocess.run(
        [sys.executable, "-c", FORK_WHILE_DROPPING, "40"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rounds, hung, failed = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    # On a failure the report carries the stuck child's stacks (stderr).
    assert (hung, failed) == (0, 0), (
        f"after {rounds} forks: {hung} hung, {failed} failed\n{proc.stderr}"
    )
    assert rounds == 40


PENDING_TASK_IN_CHILD = r"""
import os, threading, warnings
import runtime

rt = runtime.Runtime(workers=1)
release = threading.Event()
t = rt.spawn_blocking(release.wait)
done = rt.spawn(lambda: 7)
assert done.result(timeout=10) == 7
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    pid = os.fork()
if pid == 0:  # child
    code = 0
    try:
        t.result(timeout=30)
        code = 1
    except RuntimeError as e:
        if "forked" not in str(e):
            code = 2
    except BaseException:
        code = 3
    # A task that had finished before the fork still answers.
    try:
        if done.result() != 7:
            code = 4
    except BaseException:
        code = 5
    os._exit(code)
_, status = os.waitpid(pid, 0)
release.set()
assert t.result(timeout=10) is True
rt.shutdown()
print(repr(os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1))
"""


def test_a_parent_task_unfinished_at_the_fork_raises_in_the_child():
    # Its runtime's threads are in the parent: result() used to wait for
    # ever (or until its timeout).
    assert run_script(PENDING_TASK_IN_CHILD, timeout=120) == 0
