#!/usr/bin/env bash
# selftest.sh — check kafka-harness.sh end to end with kcat:
#   single broker: produce 5, consume 5 (plain and as a consumer group), stop;
#   3-node cluster: RF 3 topic, produce acks=all, SIGKILL one node, produce
#   more, consume all, restart the node, ISR back to 3, stop.
# Usage: selftest.sh [WORKDIR] [BASEPORT]   (defaults: a mktemp dir, 39092)
# Uses ports BASEPORT..BASEPORT+1 (single) and BASEPORT+10..+15 (cluster).
set -euo pipefail
H=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka-harness.sh
W=${1:-$(mktemp -d /tmp/kafka-selftest.XXXXXX)}
P=${2:-39092}
pass=0 fail=0
ok()  { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
no_jvm() { ! pgrep -f -- "$1" >/dev/null; }
cleanup() { "$H" stop "$W/single" >/dev/null 2>&1 || true; "$H" stop "$W/cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$H" fetch

# ---- single
BS=$("$H" start-single "$W/single" "$P")
seq 1 5 | sed 's/^/single-/' | kcat -P -b "$BS" -t t1 -X acks=all
n=$(kcat -C -b "$BS" -t t1 -o beginning -e -q | wc -l)
check "single: consumed $n/5" test "$n" = 5
n=$(timeout 60 kcat -b "$BS" -G selftest -o beginning -e -q t1 | wc -l)
check "single: group consumer got $n/5" test "$n" = 5
"$H" status "$W/single"
"$H" stop "$W/single"
check "single: no JVM left" no_jvm "$W/single/server.properties"

# ---- cluster
C=$((P + 10))
BS=$("$H" start-cluster "$W/cluster" "$C")
"$H" topics --bootstrap-server "$BS" --create --topic rf3 --partitions 3 --replication-factor 3
rf=$(kcat -b "$BS" -L -t rf3 | grep -c 'replicas: [0-9],[0-9],[0-9], isrs: [0-9],[0-9],[0-9]$' || true)
check "cluster: 3 partitions with 3 replicas in ISR ($rf)" test "$rf" = 3
seq 1 100 | sed 's/^/before-/' | kcat -P -b "$BS" -t rf3 -X acks=all
"$H" kill "$W/cluster/node2"
check "cluster: produce acks=all with one node SIGKILLed" \
    bash -c "seq 1 100 | sed 's/^/after-/' | kcat -P -b '$BS' -t rf3 -X acks=all -X message.timeout.ms=30000 2>/dev/null"
n=$(timeout 60 kcat -C -b "$BS" -t rf3 -o beginning -e -q 2>/dev/null | sort -u | wc -l)
check "cluster: consumed $n/200 distinct" test "$n" = 200
"$H" restart "$W/cluster/node2"
for _ in $(seq 60); do
    rf=$(kcat -b "$BS" -L -t rf3 2>/dev/null | grep -c 'isrs: [0-9],[0-9],[0-9]$' || true)
    [[ $rf == 3 ]] && break; sleep 0.5
done
check "cluster: ISR back to 3 after restart" test "$rf" = 3
"$H" status "$W/cluster"
"$H" stop "$W/cluster"
check "cluster: no JVM left" no_jvm "$W/cluster/node.*/server.properties"

echo "kafka harness selftest: $pass passed, $fail failed"
[[ $fail == 0 ]]
