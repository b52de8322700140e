# shellcheck shell=bash
# What journald-harness.sh and rsyslog-harness.sh share; they source it.
# The sourcing script sets HARNESS_NAME (for messages) and TIMEOUT (seconds
# for start/stop), and defines running_pid DIR: the pid it started for DIR,
# or nothing.

die() { echo "$HARNESS_NAME: $*" >&2; exit 1; }
log() { echo "$HARNESS_NAME: $*" >&2; }
now_ms() { date +%s%3N; }

# 0 while PID exists and is not a zombie
alive() { # PID
    [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# apt-get install those of the Debian packages PKG... that are missing.
# Installing a daemon's package (rsyslog) would start the system's own via
# invoke-rc.d where there is no policy-rc.d; service starts are forbidden
# for this install only.
install_missing() { # PKG...
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then log "deps: all present"; return 0; fi
    log "deps: installing ${missing[*]}"
    local made_policy=0 rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
          --no-install-recommends "${missing[@]}"; } || rc=$?
    [ $made_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    return $rc
}

# stop: TERM the pid running_pid DIR reports, KILL it once TIMEOUT s have
# passed, check every POLL_S s until it is gone; then remove DIR/FILE...
stop_harness() { # DIR POLL_S FILE...
    [ -d "$1" ] || die "no such dir $1"
    local d poll=$2 pid t0 deadline f
    d=$(cd "$1" && pwd); shift 2
    pid=$(running_pid "$d")
    if [ -n "$pid" ]; then
        t0=$(now_ms); deadline=$(( t0 + TIMEOUT * 1000 ))
        kill -TERM "$pid" 2>/dev/null || true
        while alive "$pid"; do
            if [ "$(now_ms)" -ge "$deadline" ]; then
                log "pid $pid ignored TERM for ${TIMEOUT}s, sending KILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep "$poll"
        done
    else
        log "not running for $d"
    fi
    for f in "$@"; do rm -f "$d/$f"; done
    [ -z "$pid" ] || log "stopped pid $pid in $(( $(now_ms) - t0 )) ms"
}

# COMMAND ARGS...: run cmd_COMMAND ARGS... ("-" in COMMAND read as "_");
# without a command, or with one there is no cmd_ function for, print the
# script's header comment as its usage and exit 2
dispatch() { # [COMMAND [ARGS...]]
    local f="cmd_${1:-}"
    f=${f//-/_}
    if [ $# -gt 0 ] && [ "$f" != cmd_ ] && declare -F "$f" >/dev/null; then
        shift
        "$f" "$@"
    else
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
        exit 2
    fi
}

# status: exit 0 and print the pid and DIR/ENV_FILE if running
status_harness() { # DIR ENV_FILE
    local d pid; d=$(cd "$1" && pwd)
    pid=$(running_pid "$d")
    [ -n "$pid" ] || { echo "not running"; return 1; }
    echo "running pid $pid"; cat "$d/$2"
}
