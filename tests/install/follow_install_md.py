# SPDX-License-Identifier: MIT
"""docs/install.md, followed literally: every ```sh block before the
<!-- install-test: end --> marker, in order, in one bash session, as root,
inside the scratch root that install-test.sh prepared (a copy-on-write view
of this machine with a private journald). Where a step needs a running
systemd, a shell function stands in (see docs/install.md, "How this page is
tested"). Then the promises of the page are checked.

Run by install-test.sh in the chroot; $SMARTERMAIL_SHIM_REPO is the
snapshot of the working tree."""

import glob
import json
import os
import pwd
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ["SMARTERMAIL_SHIM_REPO"]
WORK = "/root/install-test"
UNIT = "smartermail-shim.service"
DEADLINE_S = 20.0
THRESHOLD = 2.0

# Stand-ins for what needs a running systemd or the network. Each prints
# what it did instead, so that the log reads like the page.
PRELUDE = r'''
set -euo pipefail
SERVICE="python3 %(here)s/service.py"
sudo() { "$@"; }
apt-get() {
    [ "$1" = install ] || { echo "apt-get $1: not in this test"; return 1; }
    shift
    local p missing=""
    for p in "$@"; do
        case "$p" in -*) continue ;; esac
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
    done
    [ -z "$missing" ] || { echo "(stand-in) not installed on this machine:$missing"; return 1; }
    echo "(stand-in) every package is installed"
}
systemctl() {
    case "$*" in
    daemon-reload) echo "(stand-in) no service manager runs here: nothing to reload" ;;
    "enable --now "*) command systemctl enable "${@:3}" && $SERVICE start "$3" ;;
    "status "*) $SERVICE status "$2" ;;
    *) command systemctl "$@" ;;
    esac
}
systemd-analyze() {
    if [ "$1" = verify ]; then
        local out
        out=$(command systemd-analyze "$@" 2>&1) || { echo "$out"; return 1; }
        [ -z "$out" ] || { echo "$out"; echo "verify must print nothing"; return 1; }
        echo "(verify printed nothing)"
    else
        command systemd-analyze "$@"
    fi
}
journalctl() {
    case "$*" in
    *"-t smartermail"*) python3 %(here)s/follow_install_md.py wait-journal >&2 ;;
    esac
    command journalctl "$@"
}
'''


def doc_commands(path):
    """The shell lines of the ```sh blocks before the end marker, with
    backslash continuations joined."""
    text = open(path, encoding="utf-8").read().split("<!-- install-test: end -->", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert blocks, f"{path}: no ```sh blocks"
    lines = []
    for b in blocks:
        lines += re.sub(r"\\\n\s*", "", b).strip().splitlines()
    return lines


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def sample_originals():
    """event.original of every sample record, as the installed binary reads
    them (with the installed mappings)."""
    samples = sorted(glob.glob(os.path.join(WORK, "smartermail-shim", "samples", "*.log")))
    r = run(["/usr/bin/smartermail-shim", "parse", "--timezone", "America/Chicago", *samples])
    assert r.returncode == 0, r.stderr
    out = set()
    for line in r.stdout.splitlines():
        ev = json.loads(line)
        if "original" in ev.get("event", {}):
            out.add(ev["event"]["original"])
    assert out
    return out


def journal_originals():
    r = run(["journalctl", "-t", "smartermail", "-o", "json", "--no-pager"])
    out = set()
    for line in r.stdout.splitlines():
        v = json.loads(line).get("EVENT_ORIGINAL")
        if isinstance(v, str):
            out.add(v)
    return out


def wait_journal():
    want = sample_originals()
    deadline = time.monotonic() + DEADLINE_S
    while not want <= journal_originals():
        if time.monotonic() > deadline:
            sys.exit(f"the journal has {len(journal_originals() & want)} of the {len(want)} "
                     f"sample records after {DEADLINE_S} s")
        time.sleep(0.05)
    print(f"(stand-in) the journal has all {len(want)} sample records")


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    return ok


def promises():
    good = True
    r = run(["systemd-analyze", "security", "--offline=yes", f"--threshold={int(THRESHOLD * 10)}", UNIT])
    print(r.stdout + r.stderr)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    good &= check(r.returncode == 0 and m and float(m.group(1)) <= THRESHOLD,
                  f"systemd-analyze security: {m.group(1) if m else '?'} <= {THRESHOLD}")
    good &= check(journal_originals() >= sample_originals(),
                  "the journal holds one entry per sample record (EVENT_ORIGINAL)")
    pid = open(f"/run/install-test/{UNIT}/pid").read().strip()
    uid = int(next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Uid:")))
    good &= check(pwd.getpwuid(uid).pw_name == "smartermail-shim", "the daemon runs as smartermail-shim")
    man = run(["man", "-w", "smartermail-shim"]).stdout.strip()
    man5 = run(["man", "-w", "5", "smartermail-shim.conf"]).stdout.strip()
    good &= check(man.startswith("/usr/share/man/man1/") and man5.startswith("/usr/share/man/man5/"),
                  f"man finds both pages ({man}, {man5})")
    rendered = run(["man", "--warnings=w", "5", "smartermail-shim.conf"],
                   env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    good &= check(rendered.returncode == 0 and rendered.stderr == "" and "KEYS" in rendered.stdout,
                  "smartermail-shim.conf(5) renders without warnings")
    ids = re.findall(r"^-- ([0-9a-f]{32})", open("/usr/lib/systemd/catalog/smartermail-shim.catalog").read(), re.M)
    listed = run(["journalctl", "--list-catalog"]).stdout
    good &= check(ids and all(i in listed for i in ids), f"journalctl knows the {len(ids)} catalog entries")
    stop = run(["python3", os.path.join(HERE, "service.py"), "stop", UNIT])
    print(stop.stdout + stop.stderr)
    good &= check(stop.returncode == 0, "SIGTERM stops the daemon with exit status 0")
    ckpt = "/var/lib/smartermail-shim/checkpoint.json"
    good &= check(os.path.exists(ckpt) and pwd.getpwuid(os.stat(ckpt).st_uid).pw_name == "smartermail-shim",
                  f"{ckpt} written by the daemon")
    errors = open(f"/run/install-test/{UNIT}/stderr.log").read()
    good &= check(" error: " not in errors, "the daemon logged no error")
    print("---- the daemon's standard error (the journal, under systemd) ----\n" + errors + "----")
    un = run(["make", "-s", "uninstall", "PREFIX=/usr"], cwd=os.path.join(WORK, "smartermail-shim"))
    left = [p for p in ("/usr/bin/smartermail-shim", "/usr/share/smartermail-shim",
                        "/usr/lib/systemd/system/" + UNIT, "/usr/lib/sysusers.d/smartermail-shim.conf",
                        "/usr/lib/systemd/catalog/smartermail-shim.catalog",
                        "/usr/share/man/man1/smartermail-shim.1", "/usr/share/doc/smartermail-shim")
            if os.path.exists(p)]
    kept = [p for p in ("/etc/smartermail-shim/smartermail-shim.conf", ckpt) if os.path.exists(p)]
    good &= check(un.returncode == 0 and not left and len(kept) == 2,
                  f"make uninstall removes the files and keeps the config and the state (left: {left})")
    return good


def main():
    if sys.argv[1:] == ["wait-journal"]:
        return wait_journal()
    os.makedirs(WORK, exist_ok=True)
    script = PRELUDE % {"here": HERE}
    for line in doc_commands(os.path.join(REPO, "docs", "install.md")):
        script += f"echo {json_quote('$ ' + line)}\n{line}\n"
    print("==== docs/install.md, step by step ====", flush=True)
    r = subprocess.run(["bash", "-c", script], cwd=WORK)
    if r.returncode != 0:
        print(f"install-check: FAILED: a step of docs/install.md failed (status {r.returncode})")
        for name in ("stderr.log", "notify.log", "supervisor.log"):
            path = f"/run/install-test/{UNIT}/{name}"
            if os.path.exists(path):
                print(f"---- the service's {name} ----\n{open(path).read()}----")
        print(run(["journalctl", "--no-pager", "-n", "20"]).stdout)
        subprocess.run(["python3", os.path.join(HERE, "service.py"), "stop", UNIT],
                       capture_output=True)
        return 1
    print("==== what the page promises ====", flush=True)
    if not promises():
        print("install-check: FAILED")
        return 1
    print("install-check: docs/install.md works as written")
    return 0


def json_quote(s):
    """s as one bash word that echo prints back unchanged."""
    return "'" + s.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    sys.exit(main())
