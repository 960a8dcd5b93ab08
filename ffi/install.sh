#!/usr/bin/env bash
# Installs the C library: ffi/install.sh PREFIX
#   PREFIX/include/runtime.h
#   PREFIX/lib/libruntime.so, PREFIX/lib/libruntime.a (release build)
#   PREFIX/lib/pkgconfig/runtime.pc
# so that `cc app.c $(pkg-config --cflags --libs runtime)` works with
# PKG_CONFIG_PATH=PREFIX/lib/pkgconfig (and LD_LIBRARY_PATH or an rpath
# for a PREFIX outside the loader's path).
set -euo pipefail
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
mkdir -p "$1"
PREFIX=$(cd "$1" && pwd)
cargo build --release -p runtime-ffi
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
install -d "$PREFIX/include" "$PREFIX/lib/pkgconfig"
install -m 0644 include/runtime.h "$PREFIX/include/runtime.h"
install -m 0755 target/release/libruntime.so "$PREFIX/lib/libruntime.so"
install -m 0644 target/release/libruntime.a "$PREFIX/lib/libruntime.a"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" ffi/runtime.pc.in >"$PREFIX/lib/pkgconfig/runtime.pc"
chmod 0644 "$PREFIX/lib/pkgconfig/runtime.pc"
echo "installed runtime $VERSION into $PREFIX"
