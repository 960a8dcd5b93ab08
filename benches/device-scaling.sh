#!/usr/bin/env bash
# The multi-core scaling run (issue 6): 1, 2, 4, 8, 16 workers on a lent
# 16-core machine that has no Rust toolchain and no network.
#
# Prepared on the development machine (x86-64, same ABI):
#   cargo build --release -p runtime-benches -p runtime-ffi
#   benches/run.sh's C step (bench_rt, bench_uv), then copy into .devbench/:
#   runtime-bench, bench_rt, bench_uv (rpath $ORIGIN), libruntime.so, libuv.so.1
# and run this script there from the repository root with .devbench carried.
# The table goes to $OUT/BENCHMARKS.md (the scaling block of a copy) and
# the whole log to $OUT/log.
set -euo pipefail
cd .devbench
export LD_LIBRARY_PATH="$PWD" BENCH_C_DIR="$PWD"
nproc
grep -m1 'model name' /proc/cpuinfo || true
uname -r
cp ../BENCHMARKS.md "$OUT/BENCHMARKS.md"
./runtime-bench --workers 1,2,4,8,16 --rounds "${ROUNDS:-5}" --budget-ms "${BUDGET_MS:-150}" \
    --filter spawn_many,ping_pong,yield_many,chained_spawn,remote_spawn,spawn_blocking,mpsc,mutex,semaphore,timer_cancel,timers_fire,tcp_echo,c_cpu_fanout \
    --out "$OUT/BENCHMARKS.md" 2>&1 | tee "$OUT/log"
