#!/usr/bin/env bash
# Runs every test suite of the project (Rust, C, Python) and ends with one
# summary line: "total: N passed, N failed".
#
# Each suite installs what it needs itself. Set QUICK=0 for the long forms
# of the stress tests.
set -u
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
passed=0
failed=0
status=0
log=$(mktemp)

count_cargo() {
    # Sum "test result: ... N passed; M failed" lines of a cargo test log.
    local p f
    p=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | awk '{s+=$4} END {print s+0}')
    f=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | awk '{s+=$6} END {print s+0}')
    passed=$((passed + p))
    failed=$((failed + f))
}

count_plain() {
    # The last "N passed, N failed" (or pytest's "N passed ... N failed") line.
    local line p f
    line=$(grep -E '[0-9]+ passed' "$1" | tail -n 1)
    p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' | head -n 1)
    f=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' | head -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
}

step() {
    echo
    echo "==== $1"
}

step "rust: format and lints"
if ! cargo fmt --all -- --check; then
    echo "cargo fmt reports unformatted code"
    failed=$((failed + 1))
    status=1
fi
cargo clippy --workspace --all-targets -- -D warnings >"$log" 2>&1
rc=$?
tail -n 40 "$log"
if [ "$rc" != "0" ]; then
    echo "clippy failed"
    failed=$((failed + 1))
    status=1
fi

# Rustdoc, private items included: broken intra-doc links in the design
# notes fail the run as lints do.
if ! RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps \
    --document-private-items >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "rustdoc reports broken documentation"
    failed=$((failed + 1))
    status=1
fi

step "rust: cargo test --workspace"
cargo test --workspace 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = "0" ] || status=1
count_cargo "$log"

if [ -f ffi/test.sh ]; then
    step "c: ffi/test.sh"
    bash ffi/test.sh 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" = "0" ] || status=1
    count_plain "$log"
fi

if [ -f python/test.sh ]; then
    step "python: python/test.sh"
    bash python/test.sh 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" = "0" ] || status=1
    count_plain "$log"
fi

if [ -f .ci/reliability.sh ]; then
    step "reliability: .ci/reliability.sh"
    bash .ci/reliability.sh 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" = "0" ] || status=1
    count_plain "$log"
fi

rm -f "$log"
if [ "$status" != "0" ] && [ "$failed" = "0" ]; then
    # A suite failed without a countable test failure (build error, crash).
    failed=1
fi
echo
echo "total: $passed passed, $failed failed"
exit "$status"
