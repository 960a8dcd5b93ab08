"""The Python half of `make demo`: the same runtime, driven from Python.

Spawns work on the runtime's worker threads, awaits it from asyncio, fires
timers from the runtime's timer wheel, hands a result across threads with a
Completion, and runs an asyncio executor on the runtime's blocking pool.
"""
import asyncio
import threading
import time

import runtime


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main() -> None:
    with runtime.Runtime() as rt:
        # Tasks on worker threads, results collected from this thread.
        tasks = [rt.spawn(fib, n) for n in range(20)]
        print(f"python: fib(0..19) on runtime workers, sum {sum(t.result() for t in tasks)}")

        # Exceptions travel back to the caller with their traceback.
        failing = rt.spawn(lambda: 1 / 0)
        try:
            failing.result()
        except ZeroDivisionError as exc:
            print(f"python: a task's exception came back: {exc!r}")

        # Timers from the runtime's wheel, callbacks on runtime threads.
        fired = threading.Event()
        t0 = rt.time()
        rt.call_later(0.05, fired.set)
        fired.wait(5)
        print(f"python: call_later(0.05) fired after {rt.time() - t0:.3f} s")

        # asyncio: await runtime tasks and sleeps; a Completion set from a thread.
        async def on_asyncio() -> str:
            done = runtime.Completion()
            threading.Thread(target=lambda: done.set_result("from a plain thread")).start()
            squares = await asyncio.gather(*(rt.spawn(pow, i, 2) for i in range(1000)))
            await rt.sleep(0.01)
            return f"{sum(squares)} / {await done}"

        print(f"python: asyncio awaited 1,000 runtime tasks and a Completion: {asyncio.run(on_asyncio())}")

        # A concurrent.futures executor backed by the runtime's blocking pool.
        with runtime.Executor(runtime=rt) as ex:
            start = time.perf_counter()
            out = list(ex.map(fib, [15] * 200))
            print(f"python: Executor.map ran 200 calls in {time.perf_counter() - start:.3f} s, total {sum(out)}")
        m = rt.metrics()
        print(f"python: runtime metrics: {m.get('workers', m.get('num_workers'))} workers, {m.get('spawned_tasks_count', '?')} tasks spawned")


if __name__ == "__main__":
    main()
