#!/usr/bin/env bash
# Reliability checks of the Rust core (issue 9), see RELIABILITY.md.
#
#   bash .ci/reliability.sh          quick form, run by `make test` in CI:
#                                    loom models + the Miri unit tests of the
#                                    unsafe task code (mock scheduler) + the
#                                    C tests and examples under TSan
#                                    (ffi/tsan.sh) + the libFuzzer target of
#                                    the C API for a bounded time
#   bash .ci/reliability.sh --long   long form: loom with a higher preemption
#                                    bound, the runtime's integration tests
#                                    under Miri too, the stress tests with
#                                    STRESS_LONG=1 (release), and the test
#                                    suite under ASan and TSan (nightly)
#
# The short stress tests (core/tests/stress_*.rs) already run in
# `cargo test`, so the quick form does not rerun them.
# The last line printed is always "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

long=0
[ "${1:-}" = "--long" ] && long=1

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Adds a cargo test log's "test result:" counts; a run that printed none
# (build failure, crash, abort under a sanitizer) counts as one failure.
count() {
    local rc=$1 p f
    p=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{s+=$6} END {print s+0}')
    if [ "$rc" != "0" ] && [ "$f" = "0" ]; then
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    echo "-> $p passed, $f failed (exit $rc)"
}

step() {
    echo
    echo "==== $1"
}

run() {
    "$@" >"$log" 2>&1
    local rc=$?
    grep -E '^test |test result:|panicked|error(\[|:)|Undefined Behavior|WARNING: ThreadSanitizer|ERROR: AddressSanitizer' "$log" | tail -n 60
    count "$rc"
}

have_nightly_component() {
    rustup component list --toolchain nightly --installed 2>/dev/null | grep -q "^$1"
}

# The nightly components the Miri and sanitizer steps need: installed here
# when missing (best effort: without them those steps say SKIPPED).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    for c in miri rust-src; do
        if ! have_nightly_component "$c"; then
            echo "installing the nightly component $c"
            rustup component add --toolchain nightly "$c" >/dev/null 2>&1 ||
                echo "could not install nightly $c"
        fi
    done
fi

# ---- loom ---------------------------------------------------------------
step "loom models (every model in the crate: tests::loom, sync::loom_tests, time::*::loom_tests)"
if [ "$long" = 1 ]; then
    export LOOM_MAX_PREEMPTIONS=4
fi
RUSTFLAGS="--cfg loom" run cargo test -p runtime-core --lib --release \
    --target-dir target/loom loom

# ---- Miri ---------------------------------------------------------------
if have_nightly_component miri; then
    # Every Miri test of tests:: (task cells, wakers, join/abort, panics,
    # shutdown, the owned list, a few small threaded races). The filters
    # leave out the scheduler's own unit tests (which use real threads and
    # parking, see RELIABILITY.md).
    step "miri: task cells, wakers, join/abort, panics, shutdown, owned list, semaphore waiters"
    run cargo +nightly miri test -p runtime-core --lib -- tests::task_ tests::list_ sync::batch_semaphore
    if [ "$long" = 1 ]; then
        # The real runtime under Miri: Tree Borrows and permissive provenance
        # because crossbeam-epoch (under crossbeam-deque) is not Stacked
        # Borrows compatible; its global collector leaks by design. Only the
        # files that finish in minutes (see RELIABILITY.md).
        step "miri: runtime integration tests (Tree Borrows)"
        MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-tree-borrows -Zmiri-permissive-provenance -Zmiri-ignore-leaks" \
            run cargo +nightly miri test -p runtime-core --no-fail-fast \
            --test rt_wake --test rt_abort --test rt_panic --test rt_blocking --test rt_context \
            -- --skip abort_racing_completion
    fi
else
    step "miri: SKIPPED (no nightly miri; rustup component add --toolchain nightly miri rust-src)"
fi

# Runs a script whose last line is "N passed, N failed" and adds its counts.
run_counted() {
    "$@" >"$log" 2>&1
    local rc=$? last p f
    grep -E '^(FAIL|SKIP|note)|WARNING: ThreadSanitizer|SUMMARY: ThreadSanitizer|^==[0-9]+==|crash-|leak-' "$log" | head -n 40
    last=$(tail -n 1 "$log")
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    else
        tail -n 20 "$log"
        p=0 f=1
    fi
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    echo "-> $p passed, $f failed (exit $rc)"
}

# ---- the C suite under ThreadSanitizer ------------------------------------
# ffi/tsan.sh builds its own TSan libruntime (target/tsan, shared with the
# Rust TSan run of --long).
step "ThreadSanitizer: C tests and examples (bash ffi/tsan.sh)"
run_counted bash ffi/tsan.sh

# ---- libFuzzer: random C API call sequences -------------------------------
# ffi/fuzz/run.sh replays ffi/fuzz/seeds/ (the regression inputs and a
# reduced corpus), then fuzzes for the given seconds (coverage-guided, ASan
# + LSan, the ffi crate instrumented).
fuzz_secs=60
[ "$long" = 1 ] && fuzz_secs=600
step "libFuzzer: random C API call sequences (ffi/fuzz/run.sh $fuzz_secs)"
run_counted bash ffi/fuzz/run.sh "$fuzz_secs"

if [ "$long" = 1 ]; then
    # ---- stress, long form -----------------------------------------------
    step "stress tests, long form (STRESS_LONG=1, release)"
    STRESS_LONG=1 run cargo test -p runtime-core --release \
        --test stress_spawn --test stress_wake --test stress_abort --test stress_runtime_cycles \
        --test stress_timers --test stress_fds

    # ---- sanitizers ------------------------------------------------------
    if have_nightly_component rust-src; then
        target=x86_64-unknown-linux-gnu
        step "AddressSanitizer: cargo test -p runtime-core (lib + tests)"
        # RUST_BACKTRACE=0 as for TSan below: symbolizing the intended
        # panics' backtraces under a sanitizer trips 5-second hang detectors.
        RUST_BACKTRACE=0 RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
            ASAN_OPTIONS="detect_leaks=1" \
            run cargo +nightly test -Zbuild-std --target "$target" \
            --target-dir target/asan -p runtime-core --lib --tests
        step "ThreadSanitizer: cargo test -p runtime-core (lib + tests)"
        # RUST_BACKTRACE=0: symbolizing panic backtraces under TSan is slow
        # enough to trip the 5-second hang detectors of the panic tests.
        RUST_BACKTRACE=0 RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread" \
            TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/core/tsan.supp" \
            run cargo +nightly test -Zbuild-std --target "$target" \
            --target-dir target/tsan -p runtime-core --lib --tests
    else
        step "sanitizers: SKIPPED (no nightly rust-src for -Zbuild-std)"
    fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = "0" ]
