#!/usr/bin/env bash
# rsyslog receiver harness for smartermail-shim tests.
#
# Runs a private, standalone rsyslogd (own config, pid file and work dir; no
# imuxsock/imklog, nothing from /etc/rsyslog.conf) on loopback, with one
# listener per transport, each writing every received message as one JSON
# line to its own file in DIR.
#
#   rsyslog-harness.sh deps                      install Debian packages (apt)
#   rsyslog-harness.sh start DIR BASEPORT        PKI + config + start, wait for ports
#   rsyslog-harness.sh stop DIR                  stop (TERM, then KILL after a deadline)
#   rsyslog-harness.sh restart DIR               stop + start, same config/ports/PKI, keep logs
#   rsyslog-harness.sh status DIR                exit 0 if running, prints pid and ports
#   rsyslog-harness.sh wait DIR NAME COUNT [SECS]  wait until DIR/NAME.log has >= COUNT lines
#   rsyslog-harness.sh selftest [DIR] [BASEPORT] start, send over every listener, check, stop
#
# Port layout (BASEPORT = B), all on 127.0.0.1:
#   B+0 udp     imudp                                   -> DIR/udp.log
#   B+1 tcp     imtcp, plain (LF or octet-counted)      -> DIR/tcp.log
#   B+2 ptcp    imptcp, plain (LF or octet-counted)     -> DIR/ptcp.log
#   B+3 relp    imrelp, plain                           -> DIR/relp.log
#   B+4 tls     imtcp + TLS, server auth only           -> DIR/tls.log
#   B+5 mtls    imtcp + TLS, client cert required       -> DIR/mtls.log
#   B+6 relptls imrelp + TLS, client cert required      -> DIR/relptls.log
# DIR/ports.env has these as shell variables; DIR/pki has ca.pem, server.{pem,key},
# client.{pem,key}.
#
# Environment knobs:
#   RSYSLOG_TLS_DRIVER   gtls (default) or ossl, the imtcp netstream driver for B+4/B+5
#   RSYSLOG_MAX_MSG      global maxMessageSize (default 131072)
#   HARNESS_TIMEOUT      seconds to wait for start/stop (default 20)
set -euo pipefail

RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}
TLS_DRIVER=${RSYSLOG_TLS_DRIVER:-gtls}
MAX_MSG=${RSYSLOG_MAX_MSG:-131072}
TIMEOUT=${HARNESS_TIMEOUT:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARNESS_NAME=rsyslog-harness
# shellcheck source=harness-lib.sh
. "$HERE/harness-lib.sh"

NAMES=(udp tcp ptcp relp tls mtls relptls)
PROTOS=(udp tcp tcp tcp tcp tcp tcp)

# ---------------------------------------------------------------- deps
cmd_deps() {
    install_missing rsyslog rsyslog-relp rsyslog-gnutls rsyslog-openssl openssl librelp-dev \
        pkg-config util-linux bsdutils iproute2 python3
}

# ---------------------------------------------------------------- helpers
port_of() { # NAME BASEPORT
    local i
    for i in "${!NAMES[@]}"; do
        [ "${NAMES[$i]}" = "$1" ] && { echo $(( $2 + i )); return; }
    done
    die "unknown listener $1"
}

# 0 if something listens on 127.0.0.1:PORT (tcp) or has it bound (udp)
is_listening() { # PROTO PORT
    if [ "$1" = udp ]; then
        [ -n "$(ss -H -uln "sport = :$2" 2>/dev/null)" ]
    else
        [ -n "$(ss -H -tln "sport = :$2" 2>/dev/null)" ]
    fi
}

# pid of the rsyslogd this harness started for DIR, or nothing
running_pid() { # DIR
    local pidf="$1/harness.pid" pid
    [ -s "$pidf" ] || return 0
    pid=$(cat "$pidf")
    [ -d "/proc/$pid" ] || return 0
    # only ever report (and so signal) a process that runs our own config
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-f $1/rsyslog.conf" || return 0
    echo "$pid"
}

gen_pki() { # DIR/pki
    local d=$1
    [ -s "$d/ca.pem" ] && [ -s "$d/server.pem" ] && [ -s "$d/client.pem" ] && return 0
    mkdir -p "$d"
    local o=(openssl)
    local days=3650
    "${o[@]}" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.pem" -days $days -subj "/CN=smartermail-shim test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    local who
    for who in server client; do
        "${o[@]}" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$d/$who.key" -out "$d/$who.csr" \
            -subj "/CN=$([ $who = server ] && echo localhost || echo smartermail-shim-test-client)" 2>/dev/null
        if [ $who = server ]; then
            printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$d/$who.ext"
        else
            printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=clientAuth" "subjectAltName=DNS:smartermail-shim-test-client" > "$d/$who.ext"
        fi
        "${o[@]}" x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
            -days $days -sha256 -extfile "$d/$who.ext" -out "$d/$who.pem" 2>/dev/null
        rm -f "$d/$who.csr" "$d/$who.ext"
    done
    chmod 600 "$d"/*.key
}

write_conf() { # DIR BASEPORT
    local d=$1 b=$2 n
    local pki="$d/pki"
    {
    cat <<EOF
# generated by rsyslog-harness.sh; standalone test receiver, loopback only
global(
  workDirectory="$d/work"
  maxMessageSize="$MAX_MSG"
  net.enableDNS="off"
  preserveFQDN="on"
  localHostName="rsyslog-harness"
  processInternalMessages="on"
  parser.escapeControlCharactersOnReceive="off"
  defaultNetstreamDriverCAFile="$pki/ca.pem"
  defaultNetstreamDriverCertFile="$pki/server.pem"
  defaultNetstreamDriverKeyFile="$pki/server.key"
)

module(load="imudp")
module(load="imtcp" maxSessions="200")
module(load="imptcp")
module(load="imrelp")

# one JSON object per line; every field a test may want to compare
template(name="harness_json" type="list") {
  constant(value="{")
  property(outname="rawmsg" name="rawmsg" format="jsonf")
  constant(value=",")
  property(outname="msg" name="msg" format="jsonf")
  constant(value=",")
  property(outname="hostname" name="hostname" format="jsonf")
  constant(value=",")
  property(outname="app-name" name="app-name" format="jsonf")
  constant(value=",")
  property(outname="programname" name="programname" format="jsonf")
  constant(value=",")
  property(outname="syslogtag" name="syslogtag" format="jsonf")
  constant(value=",")
  property(outname="procid" name="procid" format="jsonf")
  constant(value=",")
  property(outname="msgid" name="msgid" format="jsonf")
  constant(value=",")
  property(outname="structured-data" name="structured-data" format="jsonf")
  constant(value=",")
  property(outname="pri" name="pri" format="jsonf" datatype="number")
  constant(value=",")
  property(outname="syslogfacility" name="syslogfacility" format="jsonf" datatype="number")
  constant(value=",")
  property(outname="syslogseverity" name="syslogseverity" format="jsonf" datatype="number")
  constant(value=",")
  property(outname="syslogfacility-text" name="syslogfacility-text" format="jsonf")
  constant(value=",")
  property(outname="syslogseverity-text" name="syslogseverity-text" format="jsonf")
  constant(value=",")
  property(outname="protocol-version" name="protocol-version" format="jsonf")
  constant(value=",")
  property(outname="timereported" name="timereported" dateFormat="rfc3339" format="jsonf")
  constant(value=",")
  property(outname="timegenerated" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  constant(value=",")
  property(outname="fromhost-ip" name="fromhost-ip" format="jsonf")
  constant(value=",")
  property(outname="inputname" name="inputname" format="jsonf")
  constant(value=",")
  property(outname="listener" name="\$.listener" format="jsonf")
  constant(value="}\n")
}

EOF
    for n in "${NAMES[@]}"; do
        cat <<EOF
ruleset(name="rs_$n") {
  set \$.listener = "$n";
  action(type="omfile" file="$d/$n.log" template="harness_json" fileCreateMode="0644")
}
EOF
    done
    cat <<EOF

input(type="imudp" address="127.0.0.1" port="$(port_of udp "$b")" ruleset="rs_udp")
input(type="imtcp" address="127.0.0.1" port="$(port_of tcp "$b")" ruleset="rs_tcp")
input(type="imptcp" address="127.0.0.1" port="$(port_of ptcp "$b")" ruleset="rs_ptcp")
input(type="imrelp" address="127.0.0.1" port="$(port_of relp "$b")" ruleset="rs_relp")
input(type="imtcp" address="127.0.0.1" port="$(port_of tls "$b")" ruleset="rs_tls"
      streamDriver.name="$TLS_DRIVER" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="$(port_of mtls "$b")" ruleset="rs_mtls"
      streamDriver.name="$TLS_DRIVER" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
input(type="imrelp" address="127.0.0.1" port="$(port_of relptls "$b")" ruleset="rs_relptls"
      tls="on" tls.authMode="certvalid" tls.caCert="$pki/ca.pem"
      tls.myCert="$pki/server.pem" tls.myPrivKey="$pki/server.key")

# rsyslogd's own messages (the only thing left in the default ruleset);
# errors also go to DIR/rsyslogd.stderr
*.* action(type="omfile" file="$d/internal.log")
EOF
    } > "$d/rsyslog.conf"
}

write_ports_env() { # DIR BASEPORT
    local d=$1 b=$2 n
    {
        echo "BASEPORT=$b"
        echo "TLS_DRIVER=$TLS_DRIVER"
        for n in "${NAMES[@]}"; do
            echo "${n^^}_PORT=$(port_of "$n" "$b")"
        done
        echo "PKI_DIR=$d/pki"
    } > "$d/ports.env"
}

wait_ports() { # DIR BASEPORT PID
    local d=$1 b=$2 pid=$3 i deadline
    deadline=$(( $(now_ms) + TIMEOUT * 1000 ))
    for i in "${!NAMES[@]}"; do
        local p=$(( b + i )) proto=${PROTOS[$i]}
        until is_listening "$proto" "$p"; do
            [ -d "/proc/$pid" ] || { cat "$d/rsyslogd.stderr" >&2 || true; die "rsyslogd exited during start-up (see $d/rsyslogd.stderr, $d/internal.log)"; }
            [ "$(now_ms)" -lt "$deadline" ] || die "timeout: ${NAMES[$i]} ($proto/$p) not listening after ${TIMEOUT}s"
            sleep 0.05
        done
    done
}

launch() { # DIR
    local d=$1 b pid t0
    # shellcheck disable=SC1091
    b=$(sed -n 's/^BASEPORT=//p' "$d/ports.env")
    [ -n "$(running_pid "$d")" ] && die "already running in $d (pid $(running_pid "$d"))"
    local i
    for i in "${!NAMES[@]}"; do
        if is_listening "${PROTOS[$i]}" $(( b + i )); then
            die "port ${PROTOS[$i]}/$(( b + i )) (${NAMES[$i]}) is already in use"
        fi
    done
    mkdir -p "$d/work"
    rm -f "$d/rsyslogd.pid"   # stale: nothing of ours runs here
    for i in "${NAMES[@]}"; do touch "$d/$i.log"; done
    local errofs; errofs=$(stat -c %s "$d/rsyslogd.stderr" 2>/dev/null || echo 0)
    t0=$(now_ms)
    # -n: foreground (we background it ourselves); -i: own pid file; -f: own config.
    # setsid: its own session, so the caller's terminal signals do not reach it.
    setsid "$RSYSLOGD" -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" \
        </dev/null >>"$d/rsyslogd.stderr" 2>&1 &
    pid=$!
    # rsyslogd writes rsyslogd.pid itself; harness.pid is ours, known at once
    echo "$pid" > "$d/harness.pid"
    wait_ports "$d" "$b" "$pid"
    log "started pid $pid, base port $b, in $(( $(now_ms) - t0 )) ms"
    local errs; errs=$(tail -c +$(( errofs + 1 )) "$d/rsyslogd.stderr" | grep -iE 'error|could not' || true)
    [ -z "$errs" ] || { log "warning: rsyslogd reported errors at start-up:"; echo "$errs" >&2; }
}

cmd_start() {
    [ $# -eq 2 ] || die "usage: start DIR BASEPORT"
    local d b=$2
    mkdir -p "$1"; d=$(cd "$1" && pwd)
    [[ $b =~ ^[0-9]+$ ]] && [ "$b" -ge 1024 ] && [ $(( b + ${#NAMES[@]} )) -le 65535 ] || die "bad BASEPORT $b"
    [ -x "$RSYSLOGD" ] || die "$RSYSLOGD missing: run '$0 deps'"
    [ -n "$(running_pid "$d")" ] && die "already running in $d"
    gen_pki "$d/pki"
    write_conf "$d" "$b"
    write_ports_env "$d" "$b"
    mkdir -p "$d/work"
    : > "$d/rsyslogd.stderr"
    # validate first: rsyslogd starts even with a broken input, so catch it here
    if ! "$RSYSLOGD" -N1 -f "$d/rsyslog.conf" >"$d/validate.out" 2>&1; then
        cat "$d/validate.out" >&2; die "config validation failed"
    fi
    launch "$d"
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: stop DIR"
    stop_harness "$1" 0.05 harness.pid rsyslogd.pid
}

cmd_restart() {
    [ $# -eq 1 ] || die "usage: restart DIR"
    local d; d=$(cd "$1" && pwd)
    [ -s "$d/ports.env" ] && [ -s "$d/rsyslog.conf" ] || die "$d was never started"
    cmd_stop "$d"
    launch "$d"
}

cmd_status() {
    [ $# -eq 1 ] || die "usage: status DIR"
    status_harness "$1" ports.env
}

cmd_wait() { # DIR NAME COUNT [SECS]
    [ $# -ge 3 ] || die "usage: wait DIR NAME COUNT [SECS]"
    local f="$1/$2.log" want=$3 secs=${4:-10} deadline have=0
    deadline=$(( $(now_ms) + secs * 1000 ))
    while :; do
        have=$( [ -f "$f" ] && wc -l < "$f" || echo 0)
        [ "$have" -ge "$want" ] && return 0
        [ "$(now_ms)" -lt "$deadline" ] || { log "timeout: $f has $have lines, wanted $want"; return 1; }
        sleep 0.05
    done
}

cmd_selftest() {
    exec python3 "$HERE/rsyslog_selftest.py" "$@"
}

dispatch "$@"
