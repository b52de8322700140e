#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Output benchmark: end-to-end events/s of `smartermail-shim run` into real
receivers (the standalone rsyslogd over TCP and over RELP, and the
standalone systemd-journald of the harnesses beside this file), counted at
the receiver, with the daemon's CPU time per 100k events.

A pre-written corpus (tests/bench/gen_corpus.py --form disk, cached under
build/bench/) is read with --from beginning. The clock starts when the
daemon is started and stops at the receiver's own reception time of the
last event (rsyslog's timegenerated, journald's __REALTIME_TIMESTAMP), once
the receiver holds all of them. CPU is utime + stime from /proc/PID/stat
at that moment, peak RSS is VmHWM.

Needs root (journald binds the global sockets) and Debian's
/usr/bin/python3 with python3-systemd:

    /usr/bin/python3 tests/receivers/bench_outputs.py [--records N] [--runs R]
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from benchutil import machine, medians, proc_cpu_s, proc_hwm_mib  # noqa: E402
from conftest import JOURNALD_HARNESS, HOST, ZONE, Journald, Rsyslog, wait_for  # noqa: E402

TIMEOUT_S = float(os.environ.get("BENCH_TIMEOUT_S", "120"))


def corpus(records):
    """The generated corpus (cached by record count); its files."""
    d = os.path.join(ROOT, "build", "bench", f"corpus-outputs-{records}")
    done = os.path.join(d, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "bench", "gen_corpus.py"),
                        "--records", str(records), "--out", d, "--form", "disk"],
                       check=True, stdout=subprocess.DEVNULL)
        open(done, "w").close()
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".log"))


def event_count(shim, files):
    """How many events run emits for the corpus (parse, same options)."""
    p = subprocess.run([shim, "parse", "--no-summaries", "--timezone", ZONE, "--host-name", HOST,
                        *files], capture_output=True, check=True)
    return p.stdout.count(b"\n")


class RsyslogCount:
    """Lines added to one listener's file; the last one's timegenerated."""

    def __init__(self, path):
        self.path = path
        self.pos = os.path.getsize(path)
        self.n = 0
        self.last = b""

    def count(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n")
        if end >= 0:
            self.n += data.count(b"\n", 0, end + 1)
            self.last = data[data.rfind(b"\n", 0, end) + 1:end]
            self.pos += end + 1
        return self.n

    def last_time(self):
        t = json.loads(self.last.decode("utf-8", "surrogateescape"))["timegenerated"]
        return datetime.datetime.fromisoformat(t).timestamp()


class JournalCount:
    """Entries of one daemon process (_PID) in the journal, counted with
    journalctl once that daemon's checkpoint says everything was sent (a
    live sd_journal reader misses entries around journald's file
    rotations). The end time is the newest entry's __REALTIME_TIMESTAMP,
    journald's own reception time."""

    def __init__(self, journal_dir):
        self.dir = journal_dir
        self.n = 0
        self.last_us = 0

    def attach(self, pid, sent):
        self.pid, self.sent = pid, sent

    def jctl(self, *args):
        return subprocess.run(["journalctl", "--no-pager", "-D", self.dir, "--all",
                               "SYSLOG_IDENTIFIER=smartermail", f"_PID={self.pid}", *args],
                              capture_output=True, check=True).stdout

    def count(self):
        if not self.sent():
            return 0
        self.n = self.jctl("-o", "cat", "--output-fields=LOG_OFFSET").count(b"\n")
        return self.n

    def last_time(self):
        newest = json.loads(self.jctl("-r", "-n", "1", "-o", "json"))
        return int(newest["__REALTIME_TIMESTAMP"]) / 1e6


def stuck(p, err_path, counter):
    """What to say when the receiver stops getting events: the daemon's
    statistics (SIGUSR1) and the state of its sockets."""
    def text():
        with open(err_path, "rb") as f:
            return f.read().decode(errors="replace")
    before = text().count("stats: records=")
    p.send_signal(signal.SIGUSR1)
    try:
        wait_for(lambda: text().count("stats: records=") > before, "statistics", 5)
    except AssertionError:
        pass
    ss = subprocess.run(["ss", "-tnpoi"], capture_output=True, text=True).stdout
    ours = "\n".join(l for l in ss.splitlines() if f"pid={p.pid}," in l)
    return f"have {counter.n}\ndaemon stderr:\n{text()[-3000:]}\nits sockets:\n{ours}"


def all_sent(state, files):
    """The daemon's checkpoint covers every file to its end."""
    try:
        with open(os.path.join(state, "checkpoint.json")) as f:
            cp = {e["name"]: e["offset"] for e in json.load(f)["files"]}
    except (OSError, ValueError):
        return False
    return all(cp.get(os.path.basename(f)) == os.path.getsize(f) for f in files)


def run_one(shim, files, n, work, output_args, counter):
    logs, state = os.path.join(work, "logs"), os.path.join(work, "state")
    shutil.rmtree(logs, ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(logs)
    os.makedirs(state)
    for f in files:
        shutil.copy(f, logs)
    err = open(os.path.join(work, "shim.stderr"), "wb")
    t0 = time.time()
    p = subprocess.Popen([shim, "run", "--logs", logs, "--state", state, "--from", "beginning",
                          "--no-summaries", "--timezone", ZONE, "--host-name", HOST,
                          "--stats-interval-s", "0", "--allow-root", *output_args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    if hasattr(counter, "attach"):
        counter.attach(p.pid, lambda: all_sent(state, files))
    try:
        def done():
            if p.poll() is not None:
                sys.exit(f"bench: the daemon exited ({p.returncode}); see {err.name}")
            return counter.count() >= n
        wait_for(done, f"{n} events at the receiver", TIMEOUT_S,
                 on_timeout=lambda: stuck(p, err.name, counter))
        cpu, hwm = proc_cpu_s(p.pid), proc_hwm_mib(p.pid)
        secs = counter.last_time() - t0
    finally:
        p.terminate()
        p.wait()
        err.close()
        os.rename(err.name, err.name + ".last")
    return n / secs, secs, cpu / n * 1e5, hwm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=1, help="median of this many runs each")
    ap.add_argument("--outputs", default="tcp,relp,journald")
    ap.add_argument("--shim", default=os.path.join(ROOT, "smartermail-shim"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_outputs: needs root (the journald and rsyslog harnesses)")
    files = corpus(a.records)
    shim = os.path.abspath(a.shim)
    n = event_count(shim, files)
    size = sum(os.path.getsize(f) for f in files)
    outputs = a.outputs.split(",")
    tmp = tempfile.mkdtemp(prefix="bench-outputs-")
    rs = jd = None
    rows = []
    try:
        if "tcp" in outputs or "relp" in outputs:
            rs = Rsyslog(os.path.join(tmp, "rsyslog"))
            rs.start()
        if "journald" in outputs:
            jd = Journald(os.path.join(tmp, "journald"))
            jd.start()
        for name in outputs:
            if name == "tcp":
                args = ["--output", "syslog", "--syslog-target",
                        f"tcp://127.0.0.1:{rs.ports['tcp']}"]
                label, make = "rsyslog, syslog over TCP", lambda: RsyslogCount(rs.log("tcp"))
            elif name == "relp":
                args = ["--output", "syslog", "--syslog-target",
                        f"relp://127.0.0.1:{rs.ports['relp']}"]
                label, make = "rsyslog, syslog over RELP", lambda: RsyslogCount(rs.log("relp"))
            elif name == "journald":
                args = ["--output", "journald"]
                label, make = "journald", lambda: JournalCount(os.path.join(jd.dir, "journal"))
            else:
                sys.exit(f"bench_outputs: unknown output {name!r} (tcp, relp, journald)")
            res = [run_one(shim, files, n, os.path.join(tmp, "work"), args, make())
                   for _ in range(a.runs)]
            rows.append((label, *medians(res)))
    finally:
        if rs:
            rs.stop()
        if jd:
            subprocess.run(["bash", JOURNALD_HARNESS, "clean", jd.dir], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nsmartermail-shim run -> receiver: {n} events ({size / 2**20:.1f} MiB of logs), "
          f"--from beginning, median of {a.runs} run(s)")
    print(machine(memory=False))
    print(f"{'output':<28}{'events/s':>10}{'seconds':>9}{'CPU s/100k':>12}{'peak RSS MiB':>14}")
    for label, eps, secs, cpu, hwm in rows:
        print(f"{label:<28}{eps:>10.0f}{secs:>9.2f}{cpu:>12.2f}{hwm:>14.1f}")


if __name__ == "__main__":
    main()
