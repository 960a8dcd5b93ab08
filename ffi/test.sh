#!/usr/bin/env bash
# The C ABI's test suite (called by `make test`):
#   1. installs the pinned cbindgen if missing, builds libruntime (debug);
#   2. fails if include/runtime.h differs from a fresh generation;
#   3. compiles the header as C99 and as C++ with -Wall -Wextra -Werror;
#   4. builds and runs every C test (tests/c/test_*.c) and example
#      (examples-c/), then runs them all again under valgrind memcheck,
#      then under ASan+LSan+UBSan
#      (zero errors, nothing definitely or indirectly lost).
# The last line is "N passed, N failed" (one count per step and program).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CBINDGEN_VERSION=0.29.4
BUILD="$ROOT/target/ffi-test"
mkdir -p "$BUILD"
LIBDIR="$ROOT/target/debug"
. ffi/common.sh

# 1. tools and the library
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cbindgen >/dev/null || [ "$(cbindgen --version)" != "cbindgen $CBINDGEN_VERSION" ]; then
    cargo install cbindgen --version "=$CBINDGEN_VERSION" --locked >"$BUILD/cbindgen-install.log" 2>&1 \
        || { cat "$BUILD/cbindgen-install.log"; fail "install cbindgen $CBINDGEN_VERSION"; finish; }
fi
need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
        || { fail "install ${need[*]}"; finish; }
fi
if cargo build -p runtime-ffi 2>"$BUILD/cargo.log"; then pass "cargo build -p runtime-ffi"; else
    tail -30 "$BUILD/cargo.log"; fail "cargo build -p runtime-ffi"; finish; fi

# 2. the committed header is current
if cbindgen --quiet --config ffi/cbindgen.toml --crate runtime-ffi --output "$BUILD/runtime.h" ffi 2>"$BUILD/cbindgen.log" \
    && diff -u include/runtime.h "$BUILD/runtime.h" >"$BUILD/header.diff"; then
    pass "include/runtime.h is up to date"
else
    head -40 "$BUILD/header.diff" "$BUILD/cbindgen.log"
    fail "include/runtime.h is stale: regenerate with cbindgen --config ffi/cbindgen.toml --crate runtime-ffi --output include/runtime.h ffi"
fi

# 3. the header compiles cleanly as C99 and C++
printf '#include "runtime.h"\nint main(void) { return rt_status_str(RT_OK)[0] == 0; }\n' >"$BUILD/hdr.c"
if cc -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c "$BUILD/hdr.c" -o "$BUILD/hdr.o"; then
    pass "header compiles as C99"; else fail "header compiles as C99"; fi
cp "$BUILD/hdr.c" "$BUILD/hdr.cpp"
if c++ -std=c++11 -Wall -Wextra -Werror -Iinclude -c "$BUILD/hdr.cpp" -o "$BUILD/hdrpp.o"; then
    pass "header compiles as C++"; else fail "header compiles as C++"; fi

# 3b. the static library links on its own
if cc -std=c11 -Iinclude examples-c/hello.c "$LIBDIR/libruntime.a" -lpthread -ldl -lm -o "$BUILD/hello-static" \
    && "$BUILD/hello-static" >/dev/null; then
    pass "static link against libruntime.a"; else fail "static link against libruntime.a"; fi

# 4. C tests and examples, natively and under valgrind
CFLAGS=("${C_FLAGS[@]}")
LDFLAGS=("${C_LIBS[@]}")
programs=()
for src in tests/c/test_*.c; do
    name=$(basename "$src" .c)
    if cc "${CFLAGS[@]}" "$src" -o "$BUILD/$name" "${LDFLAGS[@]}"; then
        programs+=("$BUILD/$name")
    else
        fail "compile $src"
    fi
done
if make -s -C examples-c RUNTIME_LIBDIR="$LIBDIR" RUNTIME_INCLUDE="$ROOT/include" OUT="$BUILD/examples" >"$BUILD/examples-build.log" 2>&1; then
    pass "build examples-c"
    for ex in "$BUILD"/examples/*; do programs+=("$ex"); done
else
    cat "$BUILD/examples-build.log"; fail "build examples-c"
fi

for prog in "${programs[@]}"; do
    name=$(basename "$prog")
    timeout 120 "$prog" >"$BUILD/$name.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "$name"
    else
        tail -20 "$BUILD/$name.out"; fail "$name (exit $rc)"
    fi
done

for prog in "${programs[@]}"; do
    name=$(basename "$prog")
    timeout 300 valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        --fair-sched=yes --child-silent-after-fork=yes --quiet "$prog" >"$BUILD/$name.vg" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "valgrind $name"
    else
        tail -40 "$BUILD/$name.vg"; fail "valgrind $name (exit $rc)"
    fi
done
# 5. The C tests and examples again under AddressSanitizer (with LeakSanitizer)
#    and UndefinedBehaviorSanitizer; the library itself is not instrumented,
#    but ASan intercepts every malloc/free it makes, so leaks and misuse of
#    its memory from C are caught.
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
mkdir -p "$BUILD/asan"
for src in tests/c/test_*.c examples-c/*.c; do
    name=$(basename "$src" .c)
    if ! cc "${CFLAGS[@]}" "${SAN[@]}" -Iinclude "$src" -o "$BUILD/asan/$name" "${LDFLAGS[@]}" \
        >"$BUILD/asan/$name.build" 2>&1; then
        cat "$BUILD/asan/$name.build"; fail "asan+ubsan compile $name"; continue
    fi
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        timeout 300 "$BUILD/asan/$name" >"$BUILD/asan/$name.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "asan+ubsan $name"
    else
        grep -E "ERROR|runtime error|SUMMARY" "$BUILD/asan/$name.out" | head -5
        tail -20 "$BUILD/asan/$name.out"; fail "asan+ubsan $name (exit $rc)"
    fi
done
finish
