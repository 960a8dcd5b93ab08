#!/usr/bin/env bash
# Builds and tests the `runtime` Python package from a fresh virtualenv:
#   bash python/test.sh [extra pytest args]
# Creates python/.venv (git-ignored), installs maturin, pytest (and uvloop,
# mypy when the index has them), `pip install ./python`, runs python/tests,
# checks the .pyi stubs against the built module, and ends with pytest's
# summary line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"

# CPython 3.13's own test package carries the concurrent.futures conformance
# suite; prefer an interpreter that has it, else any python3 >= 3.10.
pick_python() {
    if [ -n "${RUNTIME_PYTHON:-}" ]; then echo "$RUNTIME_PYTHON"; return; fi
    for cand in python3.13 python3.12 python3; do
        if command -v "$cand" >/dev/null 2>&1 &&
            "$cand" -c 'import sys, test.test_concurrent_futures.executor' >/dev/null 2>&1; then
            echo "$cand"; return
        fi
    done
    for cand in "$(command -v pyenv >/dev/null 2>&1 && pyenv root)"/versions/3.13*/bin/python3; do
        if [ -x "$cand" ] && "$cand" -c 'import test.test_concurrent_futures.executor' >/dev/null 2>&1; then
            echo "$cand"; return
        fi
    done
    echo python3
}
py="$(pick_python)"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
"$vpy" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$vpy" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7"
# Optional extras: the suite skips what they cover when they are missing.
"$vpy" -m pip install -q --disable-pip-version-check uvloop >/dev/null 2>&1 ||
    echo "test.sh: uvloop not installable here; uvloop tests will be skipped"
"$vpy" -m pip install -q --disable-pip-version-check mypy >/dev/null 2>&1 ||
    echo "test.sh: mypy not installable here; stub check falls back to tests/check_stubs.py only"

# Build and install the package exactly as a user would.
"$vpy" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$here"

# Run from tests/, outside the source package, so the installed one is
# imported.
cd "$here/tests"
# Stubs: our own signature check always; mypy's stubtest when available.
"$vpy" check_stubs.py
if "$vpy" -c 'import mypy.stubtest' >/dev/null 2>&1; then
    "$vpy" -m mypy.stubtest runtime
    "$vpy" -m mypy --strict --no-incremental typing_usage.py
fi
exec "$vpy" -m pytest -q -p no:cacheprovider "$@" .
