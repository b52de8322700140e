#!/usr/bin/env bash
# kafka-harness.sh — run real Apache Kafka (KRaft, 4.x) brokers on loopback for
# smartermail-shim's Kafka-output tests. No docker, no Kafka tarball: the
# official jars come from Maven Central through tests/kafka/pom.xml.
#
#   kafka-harness.sh fetch                      resolve jars into the cache (idempotent)
#   kafka-harness.sh start-single DIR PORT      1 combined broker+controller node
#   kafka-harness.sh start-cluster DIR BASEPORT 3 combined nodes, RF 3, min ISR 2
#   kafka-harness.sh stop DIR                   SIGTERM every node under DIR, SIGKILL after a deadline
#   kafka-harness.sh kill NODE_DIR              SIGKILL one node
#   kafka-harness.sh restart NODE_DIR           start a stopped node on its existing storage
#   kafka-harness.sh status DIR                 list nodes under DIR and whether they run
#   kafka-harness.sh bootstrap DIR              print host:port,... of the nodes under DIR
#   kafka-harness.sh topics ARGS...             org.apache.kafka.tools.TopicCommand ARGS...
#   kafka-harness.sh run-class CLASS ARGS...    any class from the Kafka jars
#
# Layout. start-single DIR writes a node directory DIR; start-cluster DIR writes
# DIR/node1 DIR/node2 DIR/node3. A node directory holds:
#   server.properties  log4j2.properties  node.env (CLUSTER_ID NODE_ID PORT CONTROLLER_PORT)
#   data/ (KRaft metadata + partitions)  kafka.pid  kafka.out (stdout/stderr)
#   logs/server.log (broker log)
# Ports. single: broker PORT, controller PORT+1.
#        cluster: brokers BASEPORT..BASEPORT+2, controllers BASEPORT+3..BASEPORT+5.
# Everything listens on 127.0.0.1 only.
#
# Environment:
#   KAFKA_CACHE         jar cache (default ~/.cache/smartermail-shim/kafka)
#   KAFKA_VERSION       Kafka version to resolve (default: the one in pom.xml)
#   KAFKA_HEAP_OPTS     default -Xms128m -Xmx512m
#   KAFKA_JVM_OPTS      extra JVM options for the brokers
#   KAFKA_START_TIMEOUT seconds to wait for readiness (default 60 single, 120 cluster)
#   KAFKA_STOP_TIMEOUT  seconds between SIGTERM and SIGKILL (default 30)
set -euo pipefail

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KAFKA_CACHE:-${HOME:-/root}/.cache/smartermail-shim/kafka}
LIB=$CACHE/lib
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
# G1 like kafka-server-start.sh, but few GC/compiler threads: 3 JVMs share 2 cores.
JVM_OPTS_DEFAULT="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
-XX:ParallelGCThreads=2 -XX:ConcGCThreads=1 -XX:CICompilerCount=2 \
-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
-Dlog4j2.shutdownHookEnabled=false"
JVM_OPTS="$JVM_OPTS_DEFAULT ${KAFKA_JVM_OPTS:-}"
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}

log() { printf '[kafka-harness %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- fetch ----

have_jars() {  # cache complete, and of $KAFKA_VERSION when that is set
    [[ -f $CACHE/.complete ]] && compgen -G "$LIB/kafka_2.13-*.jar" >/dev/null &&
        [[ -z ${KAFKA_VERSION:-} || $(<"$CACHE/.complete") == "$KAFKA_VERSION" ]]
}

ensure_tools() {
    local missing=()
    command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
    command -v mvn  >/dev/null 2>&1 || missing+=(maven)
    command -v kcat >/dev/null 2>&1 || missing+=(kcat)
    if ((${#missing[@]})); then
        log "installing with apt-get: ${missing[*]}"
        [[ $(id -u) == 0 ]] || die "need root to apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

cmd_fetch() {
    ensure_tools
    if have_jars; then
        log "jars already in $LIB ($(cat "$CACHE/.complete"))"
        return 0
    fi
    log "resolving Kafka jars from Maven Central into $LIB"
    local tmp="$CACHE/lib.tmp.$$"
    rm -rf "$tmp"; mkdir -p "$tmp"
    local vopt=()
    [[ -n ${KAFKA_VERSION:-} ]] && vopt=(-Dkafka.version="$KAFKA_VERSION")
    # -B: no colours/progress; the pom is packaging=pom, so nothing is built
    # and no target/ directory is left in the source tree.
    if ! mvn -B -q -Dstyle.color=never -f "$HARNESS_DIR/pom.xml" "${vopt[@]}" \
            dependency:copy-dependencies -DoutputDirectory="$tmp" \
            -DincludeScope=runtime > "$CACHE/mvn.log" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$CACHE/mvn.log" | tail -n 40 >&2
        rm -rf "$tmp"; die "mvn dependency:copy-dependencies failed (log: $CACHE/mvn.log)"
    fi
    rm -rf "$LIB"; mv "$tmp" "$LIB"
    local v; v=$(basename "$(compgen -G "$LIB/kafka_2.13-*.jar" | head -1)" .jar)
    echo "${v#kafka_2.13-}" > "$CACHE/.complete"
    # log4j2 config for the command-line tools (TopicCommand, StorageTool).
    cat > "$CACHE/tools-log4j2.properties" <<'EOF'
status = error
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
EOF
    log "kafka $(cat "$CACHE/.complete"): $(find "$LIB" -name '*.jar' | wc -l) jars, $(du -sh "$LIB" | cut -f1)"
}

need_jars() {
    have_jars || cmd_fetch
    command -v kcat >/dev/null 2>&1 || ensure_tools
}

run_class() {  # run a Kafka tool class in the foreground
    need_jars
    java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        -Dlog4j2.configurationFile="$CACHE/tools-log4j2.properties" \
        -cp "$LIB/*" "$@"
}

# ------------------------------------------------------------- helpers ----

new_cluster_id() {  # a Kafka Uuid: 16 random bytes, base64url, no padding
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ $id == -* || ${#id} != 22 ]] || { echo "$id"; return; }
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

node_pid() {  # prints pid if the node in $1 runs (and really is that node's JVM)
    local d=$1 pid
    [[ -f $d/kafka.pid ]] || return 1
    pid=$(<"$d/kafka.pid")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$d/server.properties" || return 1
    echo "$pid"
}

node_var() { sed -n "s/^$2=//p" "$1/node.env"; }  # NODE_DIR NAME

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

write_node_config() {  # DIR CLUSTER_ID NODE_ID PORT CONTROLLER_PORT VOTERS RF MIN_ISR
    local d=$1 cid=$2 id=$3 port=$4 cport=$5 voters=$6 rf=$7 minisr=$8
    mkdir -p "$d/data" "$d/logs"
    cat > "$d/node.env" <<EOF
CLUSTER_ID=$cid
NODE_ID=$id
PORT=$port
CONTROLLER_PORT=$cport
EOF
    cat > "$d/server.properties" <<EOF
# generated by kafka-harness.sh — KRaft combined broker+controller, loopback only
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data

auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$minisr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$minisr
share.coordinator.state.topic.num.partitions=3

# small and fast: this is a test broker
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.segment.bytes=16777216
log.retention.hours=24
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=4194304
group.initial.rebalance.delay.ms=0
# notice a SIGKILLed node within ~3 s (defaults: 2 s heartbeat, 9 s session)
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
EOF
    cat > "$d/log4j2.properties" <<EOF
status = error
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $d/logs/server.log
appender.file.filePattern = $d/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

format_node() {  # DIR CLUSTER_ID
    local d=$1 cid=$2
    java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        -Dlog4j2.configurationFile="$CACHE/tools-log4j2.properties" \
        -cp "$LIB/*" kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" \
        > "$d/format.out" 2>&1 || { cat "$d/format.out" >&2; die "storage format failed in $d"; }
}

launch_node() {  # DIR: start the JVM in the background, own session, pid file
    local d=$1
    if node_pid "$d" >/dev/null; then die "node in $d already runs (pid $(node_pid "$d"))"; fi
    rm -f "$d/kafka.pid"
    # setsid: its own session/process group, so a Ctrl-C in the caller's
    # terminal does not hit it; bash writes its own pid then execs java, so
    # kafka.pid is the JVM's pid.
    # shellcheck disable=SC2086,SC2016
    setsid bash -c 'echo $$ > "$1/kafka.pid"; shift; exec "$@"' _ "$d" \
        java $HEAP_OPTS $JVM_OPTS \
        -Dlog4j2.configurationFile="$d/log4j2.properties" -Dkafka.logs.dir="$d/logs" \
        -cp "$LIB/*" kafka.Kafka "$d/server.properties" \
        >> "$d/kafka.out" 2>&1 < /dev/null &
    local i
    for i in $(seq 50); do [[ -s $d/kafka.pid ]] && break; sleep 0.1; done
    [[ -s $d/kafka.pid ]] || die "no pid file in $d"
}

node_failed() {  # DIR: the JVM is gone -> show why
    local d=$1
    log "node in $d exited during startup; last lines of kafka.out and logs/server.log:"
    tail -n 20 "$d/kafka.out" >&2 || true
    grep -E 'ERROR|FATAL|Exception' "$d/logs/server.log" 2>/dev/null | tail -n 20 >&2 || true
}

# metadata from this one broker, as "brokers=N" when it answers
broker_count() {  # PORT
    kcat -b "127.0.0.1:$1" -L -m 3 -X topic.metadata.refresh.interval.ms=-1 2>/dev/null \
        | awk '/^ *[0-9]+ brokers:/{print $1; exit}'
}

wait_nodes() {  # DEADLINE_SECONDS WANT_BROKERS DIR...
    local deadline=$(( SECONDS + $1 )) want=$2; shift 2
    local d port n pending
    while :; do
        pending=0
        for d in "$@"; do
            node_pid "$d" >/dev/null || { node_failed "$d"; return 1; }
            port=$(node_var "$d" PORT)
            if ! port_open "$port"; then pending=1; continue; fi
            n=$(broker_count "$port")
            [[ -n $n && $n -ge $want ]] || pending=1
        done
        ((pending)) || return 0
        ((SECONDS < deadline)) || { log "timeout waiting for $*"; return 1; }
        sleep 0.5
    done
}

# produce one record with acks=all to an auto-created topic; retried until the
# deadline (auto-create needs every broker registered and unfenced)
probe_produce() {  # DEADLINE_SECONDS BOOTSTRAP
    local deadline=$(( SECONDS + $1 )) bs=$2 out
    while :; do
        # kcat -P exits 1 when a message could not be delivered
        if out=$(echo "probe $(date +%s.%N)" | kcat -P -b "$bs" -t _harness_probe \
                -X acks=all -X message.timeout.ms=5000 2>&1); then
            return 0
        fi
        ((SECONDS < deadline)) || { log "probe produce failed: $out"; return 1; }
        sleep 0.5
    done
}

nodes_under() {  # DIR -> node directories (DIR itself or DIR/node*)
    local d=$1 x
    if [[ -f $d/server.properties ]]; then echo "$d"; return; fi
    for x in "$d"/*/server.properties; do [[ -f $x ]] && dirname "$x"; done
}

# ------------------------------------------------------------ commands ----

cmd_start_single() {
    [[ $# == 2 ]] || die "usage: start-single DIR PORT"
    need_jars
    local d port=$2 t0=$SECONDS
    d=$(abs_dir "$1")
    [[ -e $d/server.properties ]] && { cmd_stop "$d" 2>/dev/null || true; }
    rm -rf "${d:?}"/{data,logs,kafka.out,kafka.pid,format.out}
    for p in "$port" $((port + 1)); do port_open "$p" && die "port $p on 127.0.0.1 is in use"; done
    local cid; cid=$(new_cluster_id)
    write_node_config "$d" "$cid" 1 "$port" $((port + 1)) "1@127.0.0.1:$((port + 1))" 1 1
    format_node "$d" "$cid"
    launch_node "$d"
    if ! wait_nodes "${KAFKA_START_TIMEOUT:-60}" 1 "$d"; then
        cmd_stop "$d" || true; die "single broker did not come up"
    fi
    log "single broker up on 127.0.0.1:$port (pid $(node_pid "$d"), $((SECONDS - t0)) s)"
    echo "127.0.0.1:$port"
}

cmd_start_cluster() {
    [[ $# == 2 ]] || die "usage: start-cluster DIR BASEPORT"
    need_jars
    local d base=$2 t0=$SECONDS cid voters="" i nd nodes=() p
    d=$(abs_dir "$1")
    cmd_stop "$d" 2>/dev/null || true
    rm -rf "${d:?}"/node[123]
    for p in $(seq "$base" $((base + 5))); do port_open "$p" && die "port $p on 127.0.0.1 is in use"; done
    for i in 1 2 3; do voters+="${voters:+,}$i@127.0.0.1:$((base + 2 + i))"; done
    cid=$(new_cluster_id)
    for i in 1 2 3; do
        nd=$d/node$i; nodes+=("$nd")
        write_node_config "$nd" "$cid" "$i" $((base + i - 1)) $((base + 2 + i)) "$voters" 3 2
    done
    # format the three storages concurrently (each is a short JVM run)
    local fpids=()
    for nd in "${nodes[@]}"; do format_node "$nd" "$cid" & fpids+=($!); done
    for p in "${fpids[@]}"; do wait "$p" || die "format failed"; done
    for nd in "${nodes[@]}"; do launch_node "$nd"; done
    if ! wait_nodes "${KAFKA_START_TIMEOUT:-120}" 3 "${nodes[@]}" \
       || ! probe_produce 60 "127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"; then
        cmd_stop "$d" || true; die "cluster did not come up"
    fi
    log "cluster $cid up: 127.0.0.1:$base-$((base + 2)) (pids $(for nd in "${nodes[@]}"; do printf '%s ' "$(node_pid "$nd")"; done)) in $((SECONDS - t0)) s"
    echo "127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
}

cmd_stop() {
    [[ $# == 1 ]] || die "usage: stop DIR"
    local d nd pid pids=() deadline
    d=$(cd "$1" 2>/dev/null && pwd) || { log "stop: no $1"; return 0; }
    while read -r nd; do
        [[ -n $nd ]] || continue
        if pid=$(node_pid "$nd"); then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    done < <(nodes_under "$d")
    ((${#pids[@]})) || { log "stop: nothing running under $d"; return 0; }
    deadline=$(( SECONDS + STOP_TIMEOUT ))
    while ((SECONDS < deadline)); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid still alive after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${pids[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
    while read -r nd; do [[ -n $nd ]] && rm -f "$nd/kafka.pid"; done < <(nodes_under "$d")
    log "stopped ${#pids[@]} node(s) under $d"
}

cmd_kill() {
    [[ $# == 1 ]] || die "usage: kill NODE_DIR"
    local d pid; d=$(cd "$1" && pwd)
    [[ -f $d/server.properties ]] || die "$d is not a node directory"
    pid=$(node_pid "$d") || die "node in $d is not running"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$d/kafka.pid"
    log "SIGKILLed node $d (pid $pid)"
}

cmd_restart() {
    [[ $# == 1 ]] || die "usage: restart NODE_DIR"
    need_jars
    local d t0=$SECONDS; d=$(cd "$1" && pwd)
    [[ -f $d/server.properties && -d $d/data ]] || die "$d is not a formatted node directory"
    node_pid "$d" >/dev/null && die "node in $d is running; stop or kill it first"
    launch_node "$d"
    # wait until this broker answers and lists itself plus every running
    # sibling node of the same cluster (same CLUSTER_ID in node.env)
    local want=1 sib cid; cid=$(node_var "$d" CLUSTER_ID)
    for sib in "$(dirname "$d")"/*/node.env; do
        sib=$(dirname "$sib")
        [[ $sib != "$d" && $(node_var "$sib" CLUSTER_ID) == "$cid" ]] || continue
        node_pid "$sib" >/dev/null && want=$((want + 1))
    done
    wait_nodes "${KAFKA_START_TIMEOUT:-60}" "$want" "$d" || die "node in $d did not come back"
    log "node $d back up (pid $(node_pid "$d"), $((SECONDS - t0)) s)"
}

cmd_status() {
    [[ $# == 1 ]] || die "usage: status DIR"
    local d nd pid rc=0; d=$(cd "$1" && pwd)
    while read -r nd; do
        [[ -n $nd ]] || continue
        local port; port=$(node_var "$nd" PORT)
        if pid=$(node_pid "$nd"); then
            printf '%s port=%s pid=%s rss_kib=%s\n' "$nd" "$port" "$pid" \
                "$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")"
        else
            printf '%s port=%s stopped\n' "$nd" "$port"; rc=1
        fi
    done < <(nodes_under "$d")
    return $rc
}

cmd_bootstrap() {
    [[ $# == 1 ]] || die "usage: bootstrap DIR"
    local d nd out=""; d=$(cd "$1" && pwd)
    while read -r nd; do
        [[ -n $nd ]] && out+="${out:+,}127.0.0.1:$(node_var "$nd" PORT)"
    done < <(nodes_under "$d")
    echo "$out"
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

main() {
    local cmd=${1:-}; shift || true
    case $cmd in
        fetch)         cmd_fetch "$@" ;;
        start-single)  cmd_start_single "$@" ;;
        start-cluster) cmd_start_cluster "$@" ;;
        stop)          cmd_stop "$@" ;;
        kill)          cmd_kill "$@" ;;
        restart)       cmd_restart "$@" ;;
        status)        cmd_status "$@" ;;
        bootstrap)     cmd_bootstrap "$@" ;;
        topics)        run_class org.apache.kafka.tools.TopicCommand "$@" ;;
        run-class)     run_class "$@" ;;
        -h|--help|help|"") usage ;;
        *) usage >&2; die "unknown command: $cmd" ;;
    esac
}

main "$@"
