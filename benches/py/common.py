"""Measuring harness shared by the Python benchmark scripts.

Each script is run by the driver (benches/src/foreign.rs) as
``python SCRIPT ROW-ID WORKERS BUDGET-MS PARAM``. It looks the row up in the
table the script passes to :func:`main`, runs one warm-up iteration, then
samples iterations until BUDGET-MS has passed and at least MIN_SAMPLES were
taken, and prints the one-line result of benches/src/protocol.rs. Both sides
of a row do the same work and return the same checksum.

Constants are kept equal to benches/src/foreign.rs.
"""

import os
import sys
import time

SUBMIT = 2_000
MAP = 10_000
TIMERS = 100_000
SPAWN = 1_000
SLEEP0 = 2_000
MIN_SAMPLES = 3
MAX_SAMPLES = 1000

# Items one iteration of each row handles, by the constants above: reported
# as ``items=``, which the driver checks against foreign.rs's count.
ITEMS = {
    "py_submit_result": SUBMIT,
    "py_executor_map": MAP,
    "py_call_later/asyncio": TIMERS,
    "py_call_later/uvloop": TIMERS,
    "py_spawn_await": SPAWN,
    "py_sleep0": SLEEP0,
}


def tiny(x=1):
    """The tiny function every executor row runs."""
    return x + 1


def timer_delay(i):
    """Delay of the i-th call_later timer: 0-10 ms in 0.1 ms steps."""
    return (i % 100) / 10_000


def peak_rss_kb():
    """``VmHWM`` of this process in KiB, as the Rust and C children report it.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that across
    ``execve`` from the address space being replaced, which for a child
    started with ``vfork``/``posix_spawn`` (as the driver's ``Command`` and
    Python's ``subprocess`` do) is the parent's, so it would read the
    larger of the parent's and this process's peak.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main(rows):
    """Runs the row named on the command line; ``rows`` maps id -> fn(workers)."""
    row, workers, budget_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fn = rows.get(row)
    if fn is None:
        print(f"{sys.argv[0]}: no row {row}", file=sys.stderr)
        sys.exit(2)
    workers = max(workers, 1)
    bench = fn(workers)  # setup once: returns the per-iteration callable
    checksum = bench()  # warm-up
    samples = []
    start = time.perf_counter_ns()
    budget = budget_ms * 1_000_000
    while len(samples) < MAX_SAMPLES and (
        len(samples) < MIN_SAMPLES or time.perf_counter_ns() - start < budget
    ):
        t0 = time.perf_counter_ns()
        c = bench()
        samples.append(time.perf_counter_ns() - t0)
        if c != checksum:
            print(f"{row}: checksum changed: {checksum} vs {c}", file=sys.stderr)
            sys.exit(1)
    samples.sort()
    n = len(samples)
    med = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    rss = peak_rss_kb()
    items = f" items={ITEMS[row]}" if row in ITEMS else ""
    print(
        f"BENCH-RESULT metric=time_ns value={float(med):.1f} samples={n} "
        f"checksum={int(checksum)} peak_rss_kb={rss}{items}",
        flush=True,
    )
    os._exit(0)  # skip interpreter and pool teardown
