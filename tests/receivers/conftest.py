# SPDX-License-Identifier: MIT
"""Fixtures for the output tests: the daemon against real receivers (the
standalone rsyslogd and systemd-journald of the harnesses beside this file),
the reference events of `smartermail-shim parse`, and a writer of log
records.

Nothing here sleeps in order to wait: `wait_for` polls a condition every
20 ms against a deadline. `hold` is its opposite: it checks an invariant
over a stretch of time that the test itself chose (an outage). Both, the
shim_bin fixture and what Shim does with a process come from
tests/lib/shimtest.py, shared with the daemon tests in tests/run."""

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RSYSLOG_HARNESS = os.path.join(HERE, "rsyslog-harness.sh")
JOURNALD_HARNESS = os.path.join(HERE, "journald-harness.sh")
SAMPLES = os.path.join(REPO, "samples")
CATALOG = os.path.join(REPO, "deploy", "smartermail-shim.catalog")
ZONE = "America/Chicago"
HOST = "mail01"
DEADLINE_S = 20.0

sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import shimtest  # noqa: E402
from shimtest import ShimProcess, hold, shim_bin  # noqa: E402,F401
from benchutil import proc_cpu_s  # noqa: E402


def wait_for(cond, what, timeout=DEADLINE_S, on_timeout=None):
    """shimtest.wait_for with this suite's deadline."""
    return shimtest.wait_for(cond, what, timeout, on_timeout)


def sh(*cmd, check=True, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


# ---- the daemon -------------------------------------------------------------

def parse_events(shim_bin, paths):
    """The reference: what `parse` makes of these files, keyed by
    (log.file.path, log.offset). Only per-record events: summaries (no
    log.offset) depend on where the input ends, which differs between a
    one-shot parse and a daemon that keeps following."""
    r = subprocess.run([shim_bin, "parse", "--timezone", ZONE, "--host-name", HOST, *paths],
                       capture_output=True)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = {}
    for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
        ev = json.loads(line)
        if is_record(ev):
            out[ev_key(ev)] = ev
    return out


def is_record(ev):
    return "offset" in ev.get("log", {})


def ev_key(ev):
    return (ev["log"]["file"]["path"], ev["log"]["offset"])


class Shim(ShimProcess):
    """The daemon as a real process: `run` with the given outputs, -v, stderr
    to a file. checkpoint() reads STATE/checkpoint.json; stats() asks with
    SIGUSR1 for the per-file read/committed offsets."""

    deadline_s = DEADLINE_S
    stderr_name = "shim-stderr"

    def start(self, *args):
        cmd = [self.bin, "run", "--allow-root", "--logs", self.logs, "--state", self.state,
               "--from", "beginning", "--timezone", ZONE, "--host-name", HOST,
               "--checkpoint-interval-ms", "100", "--stats-interval-s", "0", "-v",
               "--allow-root", *args]   # the harnesses need root, and so do we
        # for a sanitizer build (make check-asan): librelp's own leak
        env = dict(os.environ, LSAN_OPTIONS="suppressions=" + os.path.join(HERE, "lsan.supp"))
        return self.spawn(cmd, env=env)

    _stat_re = re.compile(r"stats: (\S+) read=(\d+) committed=(\d+) size=(\d+)")
    _glob_re = re.compile(r"stats: records=(\d+) .*inflight=(\d+) .*paused_ms=(\d+)")

    def stats(self, timeout=DEADLINE_S):
        """Fresh statistics: ({name: (read, committed, size)}, records,
        inflight, paused_ms), asked for with SIGUSR1."""
        before = self.stderr().count("notice: stats: records=")
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: self.stderr().count("notice: stats: records=") > before and
                 self.stderr().endswith("\n"), "statistics after SIGUSR1", timeout,
                 on_timeout=self.tail)
        text = self.stderr()
        last = text[text.rfind("notice: stats: records="):]
        g = self._glob_re.search(last)
        files = {m[0]: tuple(int(x) for x in m[1:]) for m in self._stat_re.findall(last)}
        return files, int(g[1]), int(g[2]), int(g[3])

    def cpu_s(self):
        """utime + stime of the running daemon, in seconds."""
        return proc_cpu_s(self.proc.pid)


@pytest.fixture
def shim_env(tmp_path, shim_bin):
    """(Shim, logs dir, state dir); every daemon started is killed at the
    end."""
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    state.mkdir()
    s = Shim(shim_bin, str(tmp_path), str(logs), str(state))
    try:
        yield s
    finally:
        s.cleanup()


# ---- log records ------------------------------------------------------------

class Writer:
    """Appends real-looking SMTP records (one write() each, CRLF) with a
    unique session id, to logs/2026.09.18-smtpLog.log; remembers where each
    one starts. run_for() keeps appending from a thread at a steady pace."""

    NAME = "2026.09.18-smtpLog.log"

    def __init__(self, logs):
        self.path = os.path.join(logs, self.NAME)
        self.offsets = []
        self.n = 0
        self.lock = threading.Lock()
        self.thread = None
        self.stop_ev = threading.Event()

    def append(self, count=1):
        with self.lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                for _ in range(count):
                    self.n += 1
                    i = self.n
                    ms = 8 * 3600 * 1000 + i * 7
                    line = ("%02d:%02d:%02d.%03d [203.0.113.%d][%d] cmd: RCPT TO:<user%d@example.com>\r\n"
                            % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000,
                               i % 250 + 1, 41200000 + i, i)).encode()
                    self.offsets.append(os.fstat(fd).st_size)
                    assert os.write(fd, line) == len(line)
            finally:
                os.close(fd)

    def size(self):
        return os.path.getsize(self.path)

    def run_for(self, seconds, per_s):
        """Append per_s records a second for `seconds`, in the background.
        (The pacing is the load we generate, not a wait for a condition.)"""
        def loop():
            end = time.monotonic() + seconds
            while time.monotonic() < end and not self.stop_ev.is_set():
                self.append(1)
                self.stop_ev.wait(1.0 / per_s)
        self.stop_ev.clear()
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def join(self):
        if self.thread:
            self.stop_ev.set()
            self.thread.join()
            self.thread = None

    def done(self):
        return self.thread is None or not self.thread.is_alive()


# ---- rsyslog ----------------------------------------------------------------

def free_base_port(n=7):
    """A base port with n free TCP and UDP ports above it on 127.0.0.1."""
    rnd = random.Random(os.getpid())
    for _ in range(200):
        base = rnd.randrange(30000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port range for rsyslog")


class Rsyslog:
    """The rsyslog harness: one rsyslogd, seven listeners, DIR/<name>.log
    with one JSON line per message received. tls_driver: gtls (GnuTLS, the
    harness default) or ossl (OpenSSL) for the tls and mtls listeners."""

    def __init__(self, d, tls_driver="gtls"):
        self.dir = d
        self.base = free_base_port()
        self.ports = {}
        self.pki = os.path.join(d, "pki")
        self.env = dict(os.environ, RSYSLOG_TLS_DRIVER=tls_driver)

    def start(self):
        sh("bash", RSYSLOG_HARNESS, "start", self.dir, str(self.base), env=self.env)
        with open(os.path.join(self.dir, "ports.env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k.endswith("_PORT"):
                    self.ports[k[:-5].lower()] = int(v)

    def stop(self):
        sh("bash", RSYSLOG_HARNESS, "stop", self.dir)

    def running(self):
        return sh("bash", RSYSLOG_HARNESS, "status", self.dir, check=False).returncode == 0

    def ensure(self):
        if not self.running():
            sh("bash", RSYSLOG_HARNESS, "restart", self.dir, env=self.env)

    def pid(self):
        with open(os.path.join(self.dir, "harness.pid")) as f:
            return int(f.read())

    def log(self, name):
        return os.path.join(self.dir, name + ".log")

    def reader(self, name, prefix):
        return ReceiverLog(self.log(name), prefix)


class ReceiverLog:
    """New lines of one listener's file since this reader was made, only
    those whose event comes from a log path under `prefix` (the test's own
    logs directory: the harness keeps its files across tests)."""

    def __init__(self, path, prefix):
        self.path = path
        self.prefix = prefix
        self.pos = os.path.getsize(path) if os.path.exists(path) else 0
        self.lines = []         # (receiver record, event) in arrival order
        self.summaries = []     # the same for summary events
        self.bad = []

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n")
        if end < 0:
            return self.lines
        self.pos += end + 1
        for raw in data[:end].split(b"\n"):
            rec = json.loads(raw.decode("utf-8", "surrogateescape"))
            msg = rec["msg"]
            body = msg[len("@cee: "):] if msg.startswith("@cee: ") else msg
            try:
                ev = json.loads(body)
            except ValueError:
                if self.prefix in msg:
                    self.bad.append(rec)
                continue
            if not ev["log"]["file"]["path"].startswith(self.prefix):
                continue
            if is_record(ev):
                self.lines.append((rec, ev))
            else:
                self.summaries.append((rec, ev))
        return self.lines

    def keys(self):
        return [ev_key(ev) for _, ev in self.poll()]


@pytest.fixture(scope="session")
def rsyslog(tmp_path_factory):
    r = Rsyslog(str(tmp_path_factory.mktemp("rsyslog")))
    r.start()
    try:
        yield r
    finally:
        r.stop()


# ---- journald ---------------------------------------------------------------

class Journald:
    def __init__(self, d):
        self.dir = d

    def start(self, timeout=60.0):
        """Start; while another journald (someone else's test) serves the
        global socket, wait for it to go."""
        last = []

        def attempt():
            r = sh("bash", JOURNALD_HARNESS, "start", self.dir, check=False)
            if r.returncode == 0:
                return True
            if "already served" not in r.stderr:
                raise AssertionError("journald-harness start failed:\n" + r.stderr)
            last[:] = [r.stderr]
            return False
        wait_for(attempt, "the journald socket to be free", timeout,
                 on_timeout=lambda: "".join(last))

    def stop(self):
        sh("bash", JOURNALD_HARNESS, "stop", self.dir)

    def running(self):
        return sh("bash", JOURNALD_HARNESS, "status", self.dir, check=False).returncode == 0

    def pid(self):
        with open(os.path.join(self.dir, "journald.pid")) as f:
            return int(f.read())

    def ensure(self):
        if not self.running():
            self.start()

    def entries(self, prefix, *matches):
        """Our entries whose LOG_FILE_PATH lies under prefix, oldest first."""
        r = sh("journalctl", "--no-pager", "-D", os.path.join(self.dir, "journal"), "-o", "json",
               "--all", "SYSLOG_IDENTIFIER=smartermail", *matches, check=False)
        out = []
        for line in r.stdout.splitlines():
            if line.strip():
                e = json.loads(line)
                p = e.get("LOG_FILE_PATH")
                if isinstance(p, str) and p.startswith(prefix) and "LOG_OFFSET" in e:
                    out.append(e)
        return out


@pytest.fixture(scope="session")
def journald(tmp_path_factory):
    j = Journald(str(tmp_path_factory.mktemp("journald")))
    j.start()
    try:
        yield j
    finally:
        sh("bash", JOURNALD_HARNESS, "clean", j.dir, check=False)


def catalog_ids():
    """{subject: MESSAGE_ID} from deploy/smartermail-shim.catalog."""
    ids, cur = {}, None
    with open(CATALOG) as f:
        for line in f:
            m = re.match(r"^-- ([0-9a-f]{32})\s*$", line)
            if m:
                cur = m[1]
            elif cur and line.startswith("Subject: "):
                ids[line[len("Subject: "):].strip()] = cur
                cur = None
    return ids
