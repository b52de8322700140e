#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# valgrind memcheck over the parse path: every tests/cases log with the
# options the golden runner uses (plus the case's args file), every
# samples/*.log in each encoding and at the smallest record ceiling, and
# standard input once. Any memcheck error or definite/indirect leak fails.
#
#   tests/fuzz/memcheck.sh            (builds ./smartermail-shim with make)
#   SHIM=path/to/binary tests/fuzz/memcheck.sh
#
# Each run's valgrind report is kept in build/memcheck/<name>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! command -v valgrind > /dev/null; then
        echo "valgrind not found (Debian: apt-get install valgrind)" >&2
        exit 2
fi
if [ -z "${SHIM:-}" ]; then
        make -s smartermail-shim || { echo "build failed" >&2; exit 2; }
        SHIM=./smartermail-shim
fi
out=build/memcheck
rm -rf "$out"
mkdir -p "$out"
# a copy: a rebuild while this runs must not swap the binary under it
cp "$SHIM" "$out/smartermail-shim" || exit 2
SHIM=$out/smartermail-shim

fixed=(--timezone America/Chicago --host-name mail01 --mappings mappings)
# valgrind.supp: PCRE2's JIT reads past the end of a subject by design;
# the file says why, and matches JIT code only.
vg=(valgrind --leak-check=full --error-exitcode=1 --errors-for-leak-kinds=definite,indirect
    --track-origins=yes --quiet --suppressions=tests/fuzz/valgrind.supp)
runs=0
failed=0

# check NAME STDIN ARG...: one shim run under memcheck. The shim must exit
# 0 too: every input here is one it reads without trouble.
check() {
        local name=$1 in=$2 rc
        shift 2
        runs=$((runs + 1))
        "${vg[@]}" --log-file="$out/$name.log" "$SHIM" parse "${fixed[@]}" "$@" \
                < "$in" > "$out/$name.out" 2> "$out/$name.err"
        rc=$?
        if [ $rc -ne 0 ] || grep -qE 'ERROR SUMMARY: [1-9]|definitely lost|indirectly lost' \
                "$out/$name.log"; then
                failed=$((failed + 1))
                echo "FAIL $name (exit $rc): $out/$name.log"
                head -40 "$out/$name.log"
                sed 's/^/  stderr: /' "$out/$name.err" | head -5
        else
                echo "ok   $name"
        fi
}

for dir in tests/cases/*/; do
        case=$(basename "$dir")
        args=()
        if [ -f "$dir/args" ]; then
                while IFS= read -r line || [ -n "$line" ]; do
                        line=${line%$'\r'}
                        [ -n "$line" ] && args+=("$line")
                done < "$dir/args"
        fi
        for log in "$dir"*.log; do
                [ -e "$log" ] || continue
                check "case-$case" /dev/null "${args[@]}" "$log"
        done
done

for log in samples/*.log; do
        base=$(basename "$log" .log)
        for enc in ecs flat gelf; do
                check "sample-$base-$enc" /dev/null --encoding "$enc" "$log"
        done
        check "sample-$base-small" /dev/null --max-record-bytes 256 --no-original "$log"
done
check "all-samples" /dev/null samples/*.log
check "stdin" samples/2018.05.07-smtpLog.log --type smtpLog --date 2018.05.07 -

echo "memcheck: $((runs - failed)) passed, $failed failed"
[ $failed -eq 0 ]
