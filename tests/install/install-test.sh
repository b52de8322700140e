#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs/install.md, followed literally on a fresh view of this machine:
#
#  1. the working tree is snapshotted into a git repository (what
#     "git clone" in the page clones);
#  2. in a private mount namespace, an overlay over / (writes go to a
#     scratch directory, nothing outside it changes) gets its own /run, /dev,
#     /proc and /sys, and a private systemd-journald;
#  3. follow_install_md.py runs the page's commands in a chroot into it, then
#     checks what the page promises (docs/install.md, "How this page is
#     tested").
#
# Needs root (mounts, chroot, the service account); says SKIPPED otherwise.
# Leaves nothing behind: the namespace goes when the test ends, the scratch
# directory is removed. KEEP=1 keeps the scratch directory for a look.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEADLINE_S=20

if [ "${1:-}" = --in-namespace ]; then
    T=$2
    R=$T/root
    mkdir -p "$T/upper" "$T/work" "$R"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$R"
    mount --rbind /dev "$R/dev"
    mount -t proc proc "$R/proc"
    mount --rbind /sys "$R/sys"     # with /sys/fs/cgroup, which journald needs
    # a /run of its own: no host journald socket, no service manager
    mount -t tmpfs -o mode=0755 tmpfs "$R/run"
    # and a journal of its own: journalctl must see this test's entries only
    mkdir -p "$R/var/log/journal"
    mount -t tmpfs -o mode=2755 tmpfs "$R/var/log/journal"
    chroot "$R" /lib/systemd/systemd-journald > "$T/journald.log" 2>&1 &
    jpid=$!
    for _ in $(seq $((DEADLINE_S * 50))); do
        [ -S "$R/run/systemd/journal/socket" ] && break
        kill -0 $jpid 2>/dev/null || { cat "$T/journald.log"; exit 1; }
        sleep 0.02
    done
    [ -S "$R/run/systemd/journal/socket" ] || { echo "install-check: journald did not start"; exit 1; }
    rc=0
    chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb SMARTERMAIL_SHIM_REPO="$T/repo" \
        python3 "$T/repo/tests/install/follow_install_md.py" || rc=$?
    # whatever the steps started in the scratch root
    for p in $(cat "$R"/run/install-test/*/pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    kill $jpid 2>/dev/null || true
    wait $jpid 2>/dev/null || true
    exit $rc
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-check: SKIPPED: needs root (an overlay mount, a chroot, a service account)"
    exit 0
fi
for t in unshare chroot setpriv systemd-analyze systemd-sysusers journalctl git python3 man; do
    command -v $t >/dev/null || { echo "install-check: $t is missing"; exit 1; }
done
[ -x /lib/systemd/systemd-journald ] || { echo "install-check: systemd-journald is missing"; exit 1; }

T=$(mktemp -d /var/tmp/shim-install-test.XXXXXX)
cleanup() {
    if [ "${KEEP:-}" = 1 ]; then echo "install-check: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# 1. The working tree as a clone of it would be (tracked and new files, not
# what .gitignore names: no build output).
mkdir "$T/repo"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$REPO" && git ls-files -z -c -o --exclude-standard) |
        (cd "$REPO" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
        (cd "$REPO" && xargs -0 cp --parents -t "$T/repo")
else
    (cd "$REPO" && tar --exclude=./build --exclude=./build-asan --exclude=./smartermail-shim \
        --exclude=./.git -cf - .) | tar -xf - -C "$T/repo"
fi
git -C "$T/repo" init -q
git -C "$T/repo" add -A
git -C "$T/repo" -c user.name=install-test -c user.email=install-test@localhost \
    commit -q -m "working tree for install-check"

# 2 and 3.
unshare --mount --propagation private "$HERE/install-test.sh" --in-namespace "$T"
