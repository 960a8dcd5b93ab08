"""runtime.Completion from threads."""

import threading

import pytest

import runtime


def test_set_result_from_thread():
    c = runtime.Completion()
    assert not c.done()
    threading.Timer(0.02, c.set_result, ("value",)).start()
    assert c.result(timeout=10) == "value"
    assert c.done() and not c.cancelled()
    assert c.exception() is None
    assert "finished" in repr(c)


def test_second_set_raises_invalid_state():
    c = runtime.Completion()
    c.set_result(1)
    with pytest.raises(runtime.InvalidStateError):
        c.set_result(2)
    with pytest.raises(runtime.InvalidStateError):
        c.set_exception(ValueError())
    assert c.result() == 1


def test_set_exception_instance_and_class():
    c = runtime.Completion()
    err = ValueError("bad")
    t = threading.Thread(target=c.set_exception, args=(err,))
    t.start()
    t.join()
    with pytest.raises(ValueError) as info:
        c.result()
    assert info.value is err
    assert c.exception() is err

    c2 = runtime.Completion()
    c2.set_exception(KeyError)
    assert isinstance(c2.exception(), KeyError)


@pytest.mark.parametrize("bad", [42, "x", int, object()])
def test_set_exception_rejects_non_exceptions(bad):
    c = runtime.Completion()
    with pytest.raises(TypeError):
        c.set_exception(bad)
    assert not c.done()


def test_timeout_and_cancel():
    c = runtime.Completion()
    with pytest.raises(runtime.TimeoutError):
        c.result(timeout=0.01)
    assert c.cancel()
    assert c.cancelled()
    with pytest.raises(runtime.CancelledError):
        c.result()
    with pytest.raises(runtime.InvalidStateError):
        c.set_result(1)
    done = runtime.Completion()
    done.set_result(1)
    assert not done.cancel()


def test_done_callback_runs_on_setting_thread():
    c = runtime.Completion()
    seen = []
    c.add_done_callback(lambda comp: seen.append((comp.result(), threading.get_ident())))
    t = threading.Thread(target=c.set_result, args=(9,))
    t.start()
    t.join()
    assert seen == [(9, t.ident)]
    with pytest.raises(TypeError):
        c.add_done_callback(None)


def test_many_waiters_on_one_completion():
    c = runtime.Completion()
    results = []
    threads = [threading.Thread(target=lambda: results.append(c.result(timeout=30))) for _ in range(8)]
    for t in threads:
        t.start()
    c.set_result("go")
    for t in threads:
        t.join()
    assert results == ["go"] * 8


def test_completion_set_from_runtime_task(mrt):
    c = runtime.Completion()
    mrt.spawn(c.set_result, 11)
    assert c.result(timeout=10) == 11
