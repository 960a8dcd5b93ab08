"""add_reader / add_writer / remove_* / wait_readable / wait_writable."""

import asyncio
import gc
import os
import socket
import tempfile
import threading

import pytest

import runtime


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_reader_fires_on_data_and_accepts_fileobj(rt, pair):
    a, b = pair
    got = runtime.Completion()
    w = rt.add_reader(a, lambda tag: got.set_result((tag, a.recv(100), threading.get_ident())), "tag")
    assert isinstance(w, runtime.FdWatch)
    assert w.fileno() == a.fileno()
    b.send(b"hello")
    tag, data, ident = got.result(timeout=10)
    assert (tag, data) == ("tag", b"hello")
    assert ident != threading.get_ident()
    assert rt.remove_reader(a.fileno()) is True
    assert rt.remove_reader(a) is False
    assert w.cancelled()


def test_reader_is_level_triggered(rt, pair):
    a, b = pair
    chunks = []
    done = threading.Event()

    def on_readable():
        # Read only one byte per call: the fd stays readable, so the
        # callback must be called again until everything is consumed.
        chunks.append(a.recv(1))
        if len(chunks) == 5:
            rt.remove_reader(a)
            done.set()

    rt.add_reader(a, on_readable)
    b.send(b"abcde")
    assert done.wait(10)
    assert b"".join(chunks) == b"abcde"


def test_reader_waits_for_new_data_after_draining(rt, pair):
    a, b = pair
    got = []
    cond = threading.Condition()

    def on_readable():
        try:
            data = a.recv(100)
        except BlockingIOError:
            return
        with cond:
            got.append(data)
            cond.notify_all()

    rt.add_reader(a, on_readable)
    for msg in (b"one", b"two", b"three"):
        b.send(msg)
        with cond:
            assert cond.wait_for(lambda: got and got[-1] == msg, timeout=10)
    rt.remove_reader(a)


def test_writer_fires_when_writable(rt, pair):
    a, _ = pair
    got = runtime.Completion()

    def on_writable():
        rt.remove_writer(a)
        got.set_result(a.send(b"x"))

    rt.add_writer(a, on_writable)
    assert got.result(timeout=10) == 1
    assert rt.remove_writer(a) is False


def test_reader_and_writer_on_same_fd(rt, pair):
    a, b = pair
    r, w = runtime.Completion(), runtime.Completion()
    rt.add_reader(a, lambda: (rt.remove_reader(a), r.set_result(a.recv(10))))
    rt.add_writer(a, lambda: (rt.remove_writer(a), w.set_result(True)))
    assert w.result(timeout=10) is True
    b.send(b"both")
    assert r.result(timeout=10) == b"both"


def test_add_reader_replaces_previous(rt, pair):
    a, b = pair
    old_calls = []
    new = runtime.Completion()
    w1 = rt.add_reader(a, old_calls.append, "old")
    w2 = rt.add_reader(a, lambda: (rt.remove_reader(a), new.set_result(a.recv(10))))
    assert w1.cancelled() and not w2.cancelled()
    b.send(b"z")
    assert new.result(timeout=10) == b"z"
    assert old_calls == []


def test_watch_cancel(rt, pair):
    a, b = pair
    calls = []
    w = rt.add_reader(a, calls.append, 1)
    w.cancel()
    assert w.cancelled()
    assert rt.remove_reader(a) is False
    b.send(b"x")
    marker = runtime.Completion()
    rt.call_later(0.05, marker.set_result, None)
    marker.result(timeout=10)
    assert calls == []
    assert "cancelled" in repr(w)


def test_reader_exception_goes_to_handler(rt, pair):
    a, b = pair
    seen = runtime.Completion()
    rt.set_exception_handler(lambda ctx: (rt.remove_reader(a), seen.set_result(ctx)))

    def bad():
        a.recv(10)
        raise ValueError("reader failed")

    w = rt.add_reader(a, bad)
    b.send(b"x")
    ctx = seen.result(timeout=10)
    assert isinstance(ctx["exception"], ValueError)
    assert ctx["handle"] is w


def test_bad_fds(rt):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        rt.add_reader(r, print)  # closed fd: EBADF
    with pytest.raises(ValueError):
        rt.add_reader(-1, print)
    with pytest.raises(ValueError):
        rt.add_writer(object(), print)
    with pytest.raises(ValueError):
        rt.remove_reader("nope")
    with tempfile.TemporaryFile() as f:
        with pytest.raises(OSError):
            rt.add_reader(f, print)  # regular files cannot be polled
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(TypeError):
            rt.add_reader(a, None)
    assert rt.remove_reader(12345) is False


def test_fd_methods_after_shutdown(rt, pair):
    a, _ = pair
    rt.shutdown()
    with pytest.raises(RuntimeError):
        rt.add_reader(a, print)


def test_shutdown_stops_watchers(pair):
    a, b = pair
    rt = runtime.Runtime()
    calls = []
    w = rt.add_reader(a, calls.append, 1)
    rt.shutdown()
    assert w.cancelled()
    b.send(b"x")
    assert calls == []


def test_remove_reader_finds_the_watcher_of_a_closed_socket(rt):
    a, b = socket.socketpair()
    with b:
        w = rt.add_reader(a, lambda: None)
        a.close()
        try:
            assert rt.remove_reader(a) is True
            assert w.cancelled()
        finally:
            w.cancel()


def test_watchers_of_a_dropped_runtime_report_cancelled():
    r = runtime.Runtime(workers=1)
    a, b = socket.socketpair()
    with a, b:
        w = r.add_reader(a, lambda: None)
        del r
        gc.collect()
        assert w.cancelled()


def test_wait_readable_writable(mrt, pair, run_loop):
    a, b = pair

    async def main():
        await mrt.wait_writable(a)
        waiter = asyncio.ensure_future(mrt.wait_readable(a.fileno()))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        b.send(b"ping")
        await waiter
        return a.recv(10)

    assert run_loop(main()) == b"ping"


def test_wait_readable_cancel_and_errors(mrt, pair, run_loop):
    a, _ = pair

    async def main():
        t = asyncio.ensure_future(mrt.wait_readable(a))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        with pytest.raises(ValueError):
            mrt.wait_readable(-3)

    run_loop(main())


def test_pending_wait_readable_ends_cancelled_when_the_runtime_shuts_down(
    rt, awaited_across_shutdown
):
    a, b = socket.socketpair()
    with a, b:
        t = awaited_across_shutdown(rt, lambda: rt.wait_readable(a))
    assert t is not None, "await rt.wait_readable() hangs after rt.shutdown()"
    assert t.cancelled()
