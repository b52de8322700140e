#!/usr/bin/python3
"""Self-test of journald-harness.sh. Needs Debian's python3-systemd, so run it
with /usr/bin/python3 (or: journald-harness.sh selftest [DIR]).

Starts the standalone journald, sends over the native socket (python-systemd's
journal.send = sd_journal_sendv, logger --journald), the stdout stream
(systemd-cat) and the syslog socket (logger -u .../dev-log), reads everything
back with journalctl -o json, checks the fields, measures the rate limit with
and without a (fake) unit, restarts under a long-lived sender, stops.

Ends with "N passed, M failed"; exit status 1 if anything failed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from systemd import journal

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "journald-harness.sh")
RESULTS = {"passed": 0, "failed": 0}
RUN = "%d-%d" % (os.getpid(), int(time.time()))


def ok(name, cond, detail=""):
    RESULTS["passed" if cond else "failed"] += 1
    print("PASS" if cond else "FAIL", name, "" if cond else detail)
    return cond


def harness(*args, env=None):
    t = time.monotonic()
    subprocess.run(["bash", HARNESS, *args], check=True, env=env)
    return time.monotonic() - t


def entries(d, *matches):
    out = subprocess.run(["journalctl", "--no-pager", "-D", os.path.join(d, "journal"), "-o", "json",
                          "--all", *matches], capture_output=True, text=True).stdout
    # --all: without it fields over 4096 bytes come out as null.
    # journalctl prints arrays of byte values for non-UTF-8 / binary fields
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_entries(d, want, *matches, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        e = entries(d, *matches)
        if len(e) >= want or time.monotonic() > deadline:
            return e
        time.sleep(0.05)


def settle_count(d, *matches, quiet=0.5, timeout=15.0):
    """count of matching entries once it stops growing"""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(entries(d, *matches))
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.1)
    return last


def check(name, e, want):
    if not ok(name + " received", len(e) >= 1, "no entry"):
        return
    bad = {k: (e[0].get(k), v) for k, v in want.items() if e[0].get(k) != v}
    ok(name + " fields", not bad, "got/want: %r" % bad)


SENDER = r"""
import sys
from systemd import journal
n, tag = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    journal.send("rl %d" % i, SMARTERMAIL_RL=tag, SYSLOG_IDENTIFIER="rltest")
"""


def burst(d, tag, n, unit=None):
    cmd = ["/usr/bin/python3", "-c", SENDER, str(n), tag]
    if unit:
        cmd = ["bash", HARNESS, "unit-exec", unit] + cmd
    t = time.monotonic()
    subprocess.run(cmd, check=True)
    sent_s = time.monotonic() - t
    got = settle_count(d, "SMARTERMAIL_RL=" + tag)
    print("  burst %s: sent %d in %.2fs%s, stored %d" % (tag, n, sent_s, " from " + unit if unit else "", got))
    return got


def main():
    made = len(sys.argv) < 2
    d = sys.argv[1] if not made else tempfile.mkdtemp(prefix="journald-harness.")
    print("dir", d)
    env = dict(os.environ)
    for k in ("JOURNALD_RATELIMIT_INTERVAL", "JOURNALD_RATELIMIT_BURST", "JOURNALD_CONF_EXTRA"):
        env.pop(k, None)
    print("start took %.3fs" % harness("start", d, env=env))
    try:
        # --- native protocol, sd_journal_sendv (python-systemd wraps it)
        tok = "native-" + RUN
        big = "x" * 200000
        journal.send("hello native", PRIORITY="4", SYSLOG_IDENTIFIER="smartermail-shim", SYSLOG_FACILITY="2",
                     SMARTERMAIL_TEST=tok, SMARTERMAIL_MULTILINE="line1\nline2", SMARTERMAIL_UTF8="\u00e9\u4e2d")
        journal.send("big native", SMARTERMAIL_TEST=tok + "-big", SMARTERMAIL_BIG=big)
        e = wait_entries(d, 1, "SMARTERMAIL_TEST=" + tok)
        check("native sd_journal_sendv", e, {
            "MESSAGE": "hello native", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "smartermail-shim",
            "SYSLOG_FACILITY": "2", "SMARTERMAIL_MULTILINE": "line1\nline2", "SMARTERMAIL_UTF8": "\u00e9\u4e2d",
            "_TRANSPORT": "journal", "_PID": str(os.getpid()), "_UID": "0"})
        if e:
            ok("native: no _SYSTEMD_UNIT outside a unit cgroup", "_SYSTEMD_UNIT" not in e[0], e[0].get("_SYSTEMD_UNIT"))
        e = wait_entries(d, 1, "SMARTERMAIL_TEST=" + tok + "-big")
        ok("native 200 kB field", len(e) == 1 and e[0].get("SMARTERMAIL_BIG") == big)

        tok = "logger-journald-" + RUN
        subprocess.run(["logger", "--journald"], check=True,
                       input="MESSAGE=via logger\nSMARTERMAIL_TEST=%s\nSYSLOG_IDENTIFIER=lg\nPRIORITY=3\n" % tok, text=True)
        # (no _COMM/_EXE check: journald reads those from /proc/PID when it
        # processes the datagram, and logger may have exited by then)
        check("logger --journald", wait_entries(d, 1, "SMARTERMAIL_TEST=" + tok),
              {"MESSAGE": "via logger", "PRIORITY": "3", "_TRANSPORT": "journal"})

        tok = "stdout-" + RUN
        subprocess.run(["systemd-cat", "-t", "smcat", "-p", "warning"], input=tok + "\n", text=True, check=True)
        check("systemd-cat (stdout stream)", wait_entries(d, 1, "SYSLOG_IDENTIFIER=smcat", "MESSAGE=" + tok),
              {"PRIORITY": "4", "_TRANSPORT": "stdout"})

        tok = "devlog-" + RUN
        subprocess.run(["logger", "-u", "/run/systemd/journal/dev-log", "-t", "smsys", "-p", "mail.err", tok], check=True)
        check("syslog socket dev-log", wait_entries(d, 1, "SYSLOG_IDENTIFIER=smsys", "MESSAGE=" + tok),
              {"PRIORITY": "3", "SYSLOG_FACILITY": "2", "_TRANSPORT": "syslog"})

        tok = "unit-" + RUN
        # the sender must still be alive when journald looks up its cgroup
        subprocess.run(["bash", HARNESS, "unit-exec", "smartermail-shim-test.service", "/usr/bin/python3", "-c",
                        "import sys, time; from systemd import journal; "
                        "journal.send('in a unit', SMARTERMAIL_TEST=sys.argv[1]); time.sleep(0.5)", tok], check=True)
        check("unit-exec attribution", wait_entries(d, 1, "SMARTERMAIL_TEST=" + tok),
              {"_SYSTEMD_UNIT": "smartermail-shim-test.service", "_SYSTEMD_CGROUP": "/smartermail-shim-test.service"})

        # --- rate limit: default config, and a small configured burst
        n = 3000
        got = burst(d, "default-nounit-" + RUN, n)
        ok("default config, no unit: nothing suppressed", got == n, got)
        print("stop took %.3fs" % harness("stop", d))
        env_rl = dict(env, JOURNALD_RATELIMIT_BURST="100", JOURNALD_RATELIMIT_INTERVAL="30s")
        print("start (RateLimitBurst=100) took %.3fs" % harness("start", d, env=env_rl))
        got_unit = burst(d, "b100-unit-" + RUN, n, unit="smartermail-rl-test.service")
        ok("RateLimitBurst=100, in a unit: suppressed (stored %d of %d)" % (got_unit, n), 100 <= got_unit < n, got_unit)
        got = burst(d, "b100-nounit-" + RUN, n)
        ok("RateLimitBurst=100, no unit: nothing suppressed", got == n, got)
        print("stop took %.3fs" % harness("stop", d))
        env_off = dict(env, JOURNALD_RATELIMIT_INTERVAL="0")
        print("start (RateLimitIntervalSec=0) took %.3fs" % harness("start", d, env=env_off))
        got = burst(d, "off-unit-" + RUN, n, unit="smartermail-rl-test.service")
        ok("RateLimitIntervalSec=0, in a unit: nothing suppressed", got == n, got)

        # --- restart under a long-lived sender (this process): the same
        # libsystemd socket keeps working; while down, sends fail with ECONNREFUSED
        tok = "restart-" + RUN
        journal.send("before restart", SMARTERMAIL_TEST=tok)
        wait_entries(d, 1, "SMARTERMAIL_TEST=" + tok)
        print("stop took %.3fs" % harness("stop", d))
        try:
            journal.send("while stopped", SMARTERMAIL_TEST=tok)
            ok("send while stopped fails", False, "no error")
        except OSError as ex:
            ok("send while stopped fails with ECONNREFUSED", ex.errno == 111, ex)
        print("start took %.3fs" % harness("start", d, env=env))
        print("restart took %.3fs" % harness("restart", d))
        journal.send("after restart", SMARTERMAIL_TEST=tok)
        e = wait_entries(d, 2, "SMARTERMAIL_TEST=" + tok)
        ok("journal kept across restart, same sender works after it",
           [x["MESSAGE"] for x in e] == ["before restart", "after restart"], [x["MESSAGE"] for x in e])
    finally:
        print("clean (stop) took %.3fs" % harness("clean", d))
    ok("no journald of ours left", not os.path.exists(os.path.join(d, "journald.pid")))
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    if made and not RESULTS["failed"]:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
