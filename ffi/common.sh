# Sourced by ffi/test.sh and ffi/tsan.sh (from the repository root): the
# pass/fail counters whose summary is each script's last line, and the
# flags every C test and example is built and linked with against
# $LIBDIR/libruntime.so (set LIBDIR before sourcing).
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

C_FLAGS=(-std=c11 -g -O0 -Wall -Wextra -Werror -Iinclude)
C_LIBS=(-L"$LIBDIR" -lruntime -Wl,-rpath,"$LIBDIR" -lpthread -ldl -lm)
