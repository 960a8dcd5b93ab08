#!/usr/bin/env bash
# Builds the benchmark driver in release mode and runs it.
#
#   benches/run.sh [--quick] [--workers 1,2,4,8,16] [--filter NAME] [--rounds N] ...
#
# Every argument is passed to `runtime-bench` (see benches/src/main.rs).
# The table is printed and written into BENCHMARKS.md at the repository root.
# Works on a fresh Debian machine with Rust, gcc and Python 3: it installs
# what it needs itself:
#   - Rust rows: cargo fetches Tokio from crates.io;
#   - C rows: `apt-get install -y libuv1-dev` when <uv.h> is missing, then
#     libruntime (release) and benches/c/*.c -> target/bench-c/ (under
#     cargo's target directory, which CARGO_TARGET_DIR may move);
#   - Python rows: the virtualenv benches/.venv with maturin and uvloop
#     from PyPI, and `pip install ./python` (rebuilt when python/ or core/
#     changed since the last install).
# Set BENCH_SKIP_C=1 or BENCH_SKIP_PY=1 to skip a group's setup (its rows
# then fail in the table unless --filter leaves them out).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v cargo >/dev/null 2>&1; then
    echo "benches/run.sh: cargo not found; install Rust (rustup or Debian's cargo)" >&2
    exit 1
fi

cargo build --release -p runtime-benches
# Where cargo put it: CARGO_TARGET_DIR (or build.target-dir) moves the
# target directory, and $root/target may then hold a stale build of an
# older commit that would be measured instead.
target="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target="${target:-$root/target}"

# ---- C: libuv, libruntime, the two programs --------------------------------
if [ "${BENCH_SKIP_C:-0}" != 1 ]; then
    if ! printf '#include <uv.h>\n' | cc -E -x c - >/dev/null 2>&1; then
        echo "benches/run.sh: installing libuv1-dev" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libuv1-dev >/dev/null
    fi
    cargo build --release -p runtime-ffi
    cdir="$target/bench-c"
    mkdir -p "$cdir"
    libdir="$target/release"
    cflags=(-std=c11 -O2 -Wall -Wextra -Werror -I"$root/include" -I"$root/benches/c")
    cc "${cflags[@]}" benches/c/bench_rt.c -o "$cdir/bench_rt" \
        -L"$libdir" -lruntime -Wl,-rpath,"$libdir" -lpthread -ldl -lm
    cc "${cflags[@]}" benches/c/bench_uv.c -o "$cdir/bench_uv" -luv -lpthread
    export BENCH_C_DIR="$cdir"
fi

# ---- Python: the bench virtualenv -------------------------------------------
if [ "${BENCH_SKIP_PY:-0}" != 1 ]; then
    venv="$root/benches/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    vpy="$venv/bin/python"
    pipq=(-m pip install -q --disable-pip-version-check)
    if ! "$vpy" -c 'import maturin, uvloop' >/dev/null 2>&1; then
        "$vpy" "${pipq[@]}" "maturin>=1.5,<2" uvloop
    fi
    stamp="$venv/.runtime-installed"
    if [ ! -f "$stamp" ] || ! "$vpy" -c 'import runtime' >/dev/null 2>&1 ||
        [ -n "$(find python core ffi Cargo.toml Cargo.lock -newer "$stamp" \
            -not -path '*/target/*' -not -path '*/.venv/*' -not -name '*.pyc' -print -quit)" ]; then
        "$vpy" "${pipq[@]}" --force-reinstall --no-deps ./python
        touch "$stamp"
    fi
    export BENCH_PYTHON="$vpy"
fi

exec "$target/release/runtime-bench" --out "$root/BENCHMARKS.md" "$@"
