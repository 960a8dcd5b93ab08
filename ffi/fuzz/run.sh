#!/usr/bin/env bash
# Builds and runs the libFuzzer target `api_sequence` (random sequences of
# C API calls, see fuzz_targets/api_sequence.rs) for a bounded time.
#
#   bash ffi/fuzz/run.sh [SECONDS]      default 60
#
# 1. Installs what it needs if missing (a nightly toolchain, a C++ compiler
#    for libFuzzer's sources), then builds the target the way cargo-fuzz
#    does (cargo +nightly, release with debug assertions, sancov coverage
#    flags, AddressSanitizer + LeakSanitizer) without needing cargo-fuzz.
# 2. Replays every committed seed (seeds/: regression inputs of bugs found
#    so far, and a minimised corpus), then fuzzes for SECONDS with
#    -max_total_time, starting from seeds/ and the local corpus/ (kept
#    between runs, not committed).
# A crash, invariant violation, leak or hang (-timeout) leaves its input in
# artifacts/ (reproduce: the binary printed below, with that file as its
# only argument). The last line is "N passed, N failed": 1 passed when the
# replay and the run found nothing, 1 failed (with the artifact path)
# otherwise.
set -uo pipefail
cd "$(dirname "$0")"
SECS=${1:-60}
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]"; echo "0 passed, 1 failed"; exit 2 ;; esac
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
mkdir -p corpus artifacts
LOG=artifacts/run.log

finish() { # $1: passed, $2: failed
    echo "$1 passed, $2 failed"
    [ "$2" -eq 0 ]
    exit $?
}

# What a failure prints: the sanitizer's or the harness's report (the
# first 120 lines from its first line, so a leak's allocation stacks and a
# crash's backtrace reach a CI log), then the input itself in base64 (a CI
# machine's artifacts/ is gone with it; `base64 -d > leak-x` on a
# developer machine gives the file to reproduce with).
report() {
    local first
    first=$(grep -nE 'invariant violated|ERROR:' "$LOG" | head -1 | cut -d: -f1)
    if [ -n "$first" ]; then
        tail -n "+$first" "$LOG" | grep -vE '^(#[0-9]+|INFO:|MS:|Done |stat::)' | head -120
    else
        tail -40 "$LOG"
    fi
}
artifact_base64() { # $1: artifact path or empty
    [ -n "$1" ] && [ -f "$1" ] && echo "artifact (base64): $(base64 -w0 "$1")"
}

# ---- tools ---------------------------------------------------------------
if ! cargo +nightly -V >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal >"$LOG" 2>&1 || { cat "$LOG"; echo "no nightly toolchain"; finish 0 1; }
fi
if ! command -v c++ >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++) >/dev/null 2>&1 \
        || { echo "cannot install g++ (libFuzzer is C++)"; finish 0 1; }
fi
TRIPLE=$(rustc +nightly -vV | sed -n 's/^host: //p')

# The flags cargo-fuzz passes (sancov-module with inline 8-bit counters,
# pc table and compare tracing; debug assertions; overflow checks; ASan).
# `--target` keeps them off build scripts and the proc-macro crate. Recent
# nightlies refuse to link ASan-instrumented crates against the
# uninstrumented prebuilt std unless told that this is intended.
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-pc-table"
RUSTFLAGS+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
RUSTFLAGS+=" --cfg fuzzing -Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers"
RUSTFLAGS+=" -Zsanitizer=address"
if echo 'fn main() {}' | rustc +nightly -Cunsafe-allow-abi-mismatch=sanitizer --emit=metadata \
    -o /dev/null - >/dev/null 2>&1; then
    RUSTFLAGS+=" -Cunsafe-allow-abi-mismatch=sanitizer"
fi
export RUSTFLAGS

# ---- build ---------------------------------------------------------------
start=$(date +%s)
if ! cargo +nightly build --locked --release --target "$TRIPLE" --bin api_sequence >"$LOG" 2>&1; then
    tail -40 "$LOG"
    echo "FAIL build of the fuzz target"
    finish 0 1
fi
BIN="$PWD/target/$TRIPLE/release/api_sequence"
echo "built $BIN in $(($(date +%s) - start)) s ($(rustc +nightly -V); pid_max $(cat /proc/sys/kernel/pid_max 2>/dev/null))"

# ---- run -----------------------------------------------------------------
# detect_leaks: LeakSanitizer after every input that allocated more than it
# freed (and at exit); -timeout: an input running 10 s is reported as a
# hang; -max_len: an input is at most ~48 operations anyway, and
# -len_control=0 lets short runs try long programs from the start.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
# lsan.supp: one narrow suppression (a thread's TLS-destructor list while the
# thread exits), explained in that file.
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/lsan.supp:print_suppressions=0}"
OPTS=(-max_len=256 -len_control=0 -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$PWD/artifacts/" -print_final_stats=1)

# Replay: with -runs=0, libFuzzer executes every input of the given
# folders once and stops.
nseeds=$(find seeds -type f | wc -l)
if ! "$BIN" "${OPTS[@]}" -runs=0 seeds >"$LOG" 2>&1; then
    report
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$LOG" | tail -1)
    echo "FAIL seed replay ($nseeds inputs): ${art:-see ffi/fuzz/$LOG}"
    artifact_base64 "$art"
    finish 0 1
fi
echo "seed replay: $nseeds inputs, no failure"

"$BIN" "${OPTS[@]}" -max_total_time="$SECS" corpus seeds >"$LOG" 2>&1
rc=$?
grep -E '^stat::|^Done ' "$LOG"
if [ "$rc" -ne 0 ]; then
    report
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$LOG" | tail -1)
    echo "FAIL api_sequence (exit $rc): artifact ${art:-none, see ffi/fuzz/$LOG}; reproduce: $BIN ${art:-<input>}"
    artifact_base64 "$art"
    finish 0 1
fi
echo "PASS api_sequence: ${SECS} s, corpus $(find corpus -type f | wc -l) inputs"
finish 1 0
