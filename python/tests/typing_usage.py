"""Type-checked by test.sh with mypy --strict: the stubs describe real usage."""
import asyncio
import runtime

def f(x: int) -> str:
    return str(x)

async def main(rt: runtime.Runtime) -> None:
    t: runtime.Task[str] = rt.spawn(f, 1)
    s: str = await t
    c: runtime.Completion[int] = runtime.Completion()
    n: int = await c
    await rt.sleep(0.1)
    h: runtime.TimerHandle = rt.call_later(1, print, "x")
    w: runtime.FdWatch = rt.add_reader(0, print)
    print(s, n, h.when(), w.fileno())

with runtime.Executor(max_workers=2) as ex:
    fut = ex.submit(f, 2)
    r: str = fut.result()
