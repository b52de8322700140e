#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang (ASan + UBSan, the shim's sources
# compiled directly, shim/cli/main.c left out), replay the regression inputs in
# tests/fuzz/regress/<target>/, then fuzz each target for SECONDS.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]     (targets: parse mapping config)
#
# SECONDS 0 builds and replays the regression inputs only.
# Seeds: tests/fuzz/corpus/<target>/, plus inputs made here from
# tests/cases/*/*.log (parse) and mappings/*.json (mapping). What the
# fuzzer finds goes to build/fuzz/corpus/<target>/ (not committed). A crash,
# leak, timeout or failed check is copied to tests/fuzz/crashes/<target>/
# and the script exits 1. Needs clang and its libFuzzer runtime
# (Debian: clang, libclang-rt-14-dev).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-}
if [[ ! $seconds =~ ^[0-9]+$ ]]; then
        echo "usage: $0 SECONDS [parse|mapping|config]..." >&2
        exit 2
fi
shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(parse mapping config)

CLANG=${CLANG:-clang}
out=build/fuzz
# the libraries the Makefile names, so that a new dependency needs no edit here
pkgs=$(make -s --no-print-directory --eval '_fuzz_pkgs: ; @echo $(LIBS_PKG)' _fuzz_pkgs 2>/dev/null)
[ -n "$pkgs" ] || pkgs="libfastjson libpcre2-8 libsystemd"
# and the names of the libraries loaded on demand (shim/base/dlib.h)
sonames=$(make -s --no-print-directory --eval '_fuzz_sonames: ; @echo $(SONAMES)' _fuzz_sonames)
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 $san -Wall -Wextra -iquote shim -iquote tests/fuzz
        -DSHIM_VERSION=\"fuzz\" -DMAPPINGS_DIR=\"mappings\" $sonames $(pkg-config --cflags $pkgs)"
libs=$(pkg-config --libs $pkgs)

# max_len per target: a few records past the smallest ceiling (256) for
# parse; mapping files are small; config lines are at most 4 KiB.
declare -A max_len=([parse]=8192 [mapping]=16384 [config]=8192)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SHIM_FUZZ_MAPPINGS=${SHIM_FUZZ_MAPPINGS:-mappings}

build() {
        local objs=() src o
        mkdir -p "$out/obj"
        for src in $(ls shim/*/*.c | grep -v "^shim/cli/main\.c$"); do
                o=$out/obj/$(basename "${src%.c}").o
                if [ ! -e "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find shim -name '*.h' -newer "$o")" ]; then
                        # shellcheck disable=SC2086
                        $CLANG $cflags -fsanitize=fuzzer-no-link -c -o "$o" "$src" || return 1
                fi
                objs+=("$o")
        done
        # an archive: a target links only the modules it reaches
        rm -f "$out/libshim-fuzz.a"
        ar rcs "$out/libshim-fuzz.a" "${objs[@]}" || return 1
        # The harness and its checks are sanitized but not traced for
        # coverage: their branches are not the code under test, and tracing
        # them costs about a third of the executions.
        # shellcheck disable=SC2086
        $CLANG $cflags -c -o "$out/obj/fuzz_common.o" tests/fuzz/fuzz_common.c || return 1
        for t in "${targets[@]}"; do
                # shellcheck disable=SC2086
                $CLANG $cflags -c -o "$out/obj/fuzz_$t.o" "tests/fuzz/fuzz_$t.c" &&
                $CLANG $cflags -fsanitize=fuzzer -o "$out/fuzz_$t" "$out/obj/fuzz_$t.o" \
                        "$out/obj/fuzz_common.o" "$out/libshim-fuzz.a" $libs || return 1
        done
}

# Seeds made from the repository's own files.
make_seeds() {
        local dir=$out/seeds/$1 f base type ti
        rm -rf "$dir"
        mkdir -p "$dir"
        case $1 in
        parse)
                # control bytes (see fuzz_parse.c): the log's own type, two
                # splits, ceiling 64K with 2 pieces and 256 with 3 pieces
                for f in tests/cases/*/*.log samples/*.log; do
                        [ -e "$f" ] || continue
                        base=$(basename "$f" .log)
                        type=${base#??????????-}
                        case $type in
                        smtpLog) ti=0 ;; imapLog) ti=1 ;; popLog) ti=2 ;; delivery) ti=3 ;;
                        administrative) ti=4 ;; generalErrors) ti=5 ;; *) ti=6 ;;
                        esac
                        { printf "\\x$(printf %02x $((ti << 5 | 3 << 2 | 1)))\\x50\\xb0\\x03"
                          cat "$f"; } > "$dir/$(basename "$(dirname "$f")")-$base-a"
                        { printf "\\x$(printf %02x $((ti << 5 | 2)))\\x11\\xee\\x03"
                          cat "$f"; } > "$dir/$(basename "$(dirname "$f")")-$base-b"
                done ;;
        mapping)
                # generic.json alone is the generic file; the others go beside it
                for f in mappings/*.json; do
                        [ "$(basename "$f")" = generic.json ] && ctl='\x00' || ctl='\x01'
                        { printf "$ctl"; cat "$f"; } > "$dir/$(basename "$f")"
                done ;;
        esac
}

# Run one target's regression inputs; returns non-zero on a failure.
replay() {
        local t=$1 files
        files=(tests/fuzz/regress/"$t"/*)
        [ -e "${files[0]}" ] || return 0
        if ! "$out/fuzz_$t" "${files[@]}" > "$out/$t.replay.log" 2>&1; then
                echo "$t: a regression input fails again:"
                grep -E 'ERROR|runtime error|fuzz check failed|SUMMARY|Running:' "$out/$t.replay.log" | tail -20
                return 1
        fi
        echo "$t: ${#files[@]} regression input(s) pass"
}

fuzz() {
        local t=$1 log=$out/$t.log execs art found=0 f
        art=$out/artifacts/$t
        rm -rf "$art"
        mkdir -p "$art" "$out/corpus/$t"
        make_seeds "$t"
        "$out/fuzz_$t" -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=25 \
                -rss_limit_mb=4096 -close_fd_mask=3 -print_final_stats=1 \
                -artifact_prefix="$art/" "$out/corpus/$t" "tests/fuzz/corpus/$t" \
                "$out/seeds/$t" > "$log" 2>&1
        local rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "$t: ${execs:-?} execs in ${seconds} s, corpus $(ls "$out/corpus/$t" | wc -l) inputs," \
             "exit $rc (log: $log)"
        for f in "$art"/*; do
                [ -e "$f" ] || continue
                found=1
                mkdir -p "tests/fuzz/crashes/$t"
                cp "$f" "tests/fuzz/crashes/$t/"
                echo "$t: FINDING $(basename "$f") -> tests/fuzz/crashes/$t/"
        done
        if [ $rc -ne 0 ] || [ $found -ne 0 ]; then
                grep -E 'ERROR|runtime error|fuzz check failed|SUMMARY|#[0-9]+ 0x' "$log" | head -30
                return 1
        fi
}

if ! command -v "$CLANG" > /dev/null; then
        echo "$CLANG not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
        exit 2
fi
build || { echo "build failed" >&2; exit 2; }
status=0
for t in "${targets[@]}"; do
        replay "$t" || status=1
done
# SECONDS 0: build and replay only (libFuzzer reads 0 as "no limit")
[ "$seconds" -eq 0 ] && exit $status
for t in "${targets[@]}"; do
        fuzz "$t" || status=1
done
exit $status
