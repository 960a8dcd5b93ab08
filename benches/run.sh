#!/usr/bin/env bash
# Builds the benchmark driver in release mode and runs it.
#
#   benches/run.sh [--quick] [--workers 1,2,4,8,16] [--filter NAME] [--rounds N] ...
#
# Every argument is passed to `runtime-bench` (see benches/src/main.rs).
# The table is printed and written into BENCHMARKS.md at the repository root.
# Works on a fresh Debian machine with Rust, gcc and Python 3.11: it installs
# what it needs itself. (The C rows will add `apt-get install -y libuv1-dev`
# here and the Python rows a virtualenv with uvloop; the Rust rows need only
# cargo, which fetches Tokio from crates.io.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v cargo >/dev/null 2>&1; then
    echo "benches/run.sh: cargo not found; install Rust (rustup or Debian's cargo)" >&2
    exit 1
fi

cargo build --release -p runtime-benches
exec "$root/target/release/runtime-bench" --out "$root/BENCHMARKS.md" "$@"
