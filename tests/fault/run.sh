#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fault injection: build each tests/fault/test_*.c against the shim's
# library with the -Wl,--wrap flags it needs (the wrappers are in
# inject_*.c), then run it. `make fault` calls this with the compiler, the
# flags and the libraries in FAULT_CC, FAULT_CFLAGS, FAULT_LDFLAGS,
# FAULT_LIBS and the output directory in FAULT_OUT, so that
#
#   make fault
#   make BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
#        LDFLAGS=-fsanitize=address,undefined fault
#
# build and run the same tests plain and with the sanitizers. Run directly,
# it asks make to do that (any arguments go to make).
#
#   test_alloc     the Nth malloc/calloc/realloc/strdup fails (also in main.c's
#                  commands: built as is, its main renamed shim_main)
#   test_ckpt_io   checkpoint writes: ENOSPC, EIO, short writes, a crash
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

if [ -z "${FAULT_CFLAGS:-}" ]; then
        exec make --no-print-directory fault "$@"
fi

# The flags are make's text for a shell: let the shell split and unquote
# them as a recipe would (-DSHIM_VERSION='"0.1.0"').
cflags=() ldflags=() libs=()
eval "cflags=($FAULT_CFLAGS)"
eval "ldflags=(${FAULT_LDFLAGS:-})"
eval "libs=($FAULT_LIBS)"
cc=${FAULT_CC:-cc}
# in a sanitizer build, any finding fails the run (UBSan would go on)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
out=${FAULT_OUT:-build/fault}
mkdir -p "$out"

# What each binary wraps: only references from objects linked statically
# (the test, the wrappers and libshim.a's members) go through a wrapper.
declare -A wrap=(
        [test_alloc]="-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup"
        [test_ckpt_io]="-Wl,--wrap=open,--wrap=write,--wrap=fsync,--wrap=close,--wrap=rename"
)
declare -A wrappers=([test_alloc]=inject_alloc.c [test_ckpt_io]=inject_io.c)
# Tests that call main.c's main() as shim_main(): the object the binary is
# made of, the symbol renamed, so that the test keeps its own main().
declare -A with_main=([test_alloc]=1)

if ! "$cc" "${cflags[@]}" -c -o "$out/main.o" shim/cli/main.c ||
        ! objcopy --redefine-sym main=shim_main "$out/main.o" "$out/shim_main.o"; then
        echo "shim/cli/main.c: build for the tests failed" >&2
        exit 2
fi

status=0
for src in tests/fault/test_*.c; do
        t=$(basename "$src" .c)
        bin=$out/$t
        if [ -z "${wrap[$t]:-}" ]; then
                echo "$t: no wrap flags in tests/fault/run.sh" >&2
                exit 2
        fi
        extra=()
        [ -n "${with_main[$t]:-}" ] && extra=("$out/shim_main.o")
        if ! "$cc" "${cflags[@]}" -Itests/unit -Itests/fault "${ldflags[@]}" -o "$bin" \
                "$src" "tests/fault/${wrappers[$t]}" "${extra[@]}" "${wrap[$t]}" "${libs[@]}"; then
                echo "$t: build failed" >&2
                exit 2
        fi
        echo "== $bin"
        "$bin" || status=1
done
exit $status
