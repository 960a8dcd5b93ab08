"""CPython's own concurrent.futures executor conformance suite, run against
runtime.Executor.

The mixins come from the interpreter's ``test`` package
(``Lib/test/test_concurrent_futures``, a package since CPython 3.13; a single
module before). Where the package is missing (many distributions strip
``test``), this module is skipped and ``test_executor.py`` covers the same
contract.

Tests that inspect ``ThreadPoolExecutor`` internals (``_threads``: the
number of OS threads the pool started) do not apply: the runtime's blocking
pool owns the threads. The subprocess tests import the executor by name
from ``concurrent.futures``; they are re-stated in ``test_executor.py`` with
``runtime.Executor``.
"""

import pytest

cf = pytest.importorskip(
    "test.test_concurrent_futures.executor",
    reason="this interpreter has no test.test_concurrent_futures package",
)
from test.test_concurrent_futures import (  # noqa: E402
    test_as_completed,
    test_init,
    test_shutdown,
    test_thread_pool,
    test_wait,
    util,
)

import runtime  # noqa: E402


class RuntimeExecutorMixin(util.ExecutorMixin):
    executor_type = runtime.Executor


class RuntimeExecutorTest(RuntimeExecutorMixin, cf.ExecutorTest, util.BaseTestCase):
    test_map_submits_without_iteration = (
        test_thread_pool.ThreadPoolExecutorTest.test_map_submits_without_iteration
    )
    test_default_workers = test_thread_pool.ThreadPoolExecutorTest.test_default_workers
    test_executor_map_current_future_cancel = (
        test_thread_pool.ThreadPoolExecutorTest.test_executor_map_current_future_cancel
    )


class RuntimeWaitTests(RuntimeExecutorMixin, test_wait.WaitTests, util.BaseTestCase):
    test_pending_calls_race = test_wait.ThreadPoolWaitTests.test_pending_calls_race


class RuntimeAsCompletedTests(
    RuntimeExecutorMixin, test_as_completed.AsCompletedTests, util.BaseTestCase
):
    pass


class RuntimeShutdownTest(
    RuntimeExecutorMixin, test_shutdown.ExecutorShutdownTest, util.BaseTestCase
):
    # These spawn `python -c "from concurrent.futures import <name>"`:
    # restated for runtime.Executor in test_executor.py.
    test_interpreter_shutdown = None
    test_submit_after_interpreter_shutdown = None
    test_hang_gh83386 = None

    test_cancel_futures_wait_false = None  # same: subprocess by name
    test_shutdown_no_wait = test_shutdown.ThreadPoolShutdownTest.test_shutdown_no_wait


class RuntimeInitializerTest(test_init.InitializerMixin, util.BaseTestCase):
    executor_type = runtime.Executor


class RuntimeFailingInitializerTest(test_init.FailingInitializerMixin, util.BaseTestCase):
    executor_type = runtime.Executor
