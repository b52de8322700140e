# SPDX-License-Identifier: MIT
"""Fixtures for the run-mode tests: a temporary log and state directory, a
writer of real-looking SmarterMail lines that remembers where each record
landed, and a handle on the daemon as a real process whose output file is
read back event by event.

Nothing here sleeps in order to wait: `wait_for` polls a condition every
20 ms and fails with a message saying what it waited for. It, the shim_bin
fixture and what Shim does with a process come from tests/lib/shimtest.py,
shared with the output tests."""

import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from shimtest import DEADLINE_S, REPO, ShimProcess, shim_bin, wait_for  # noqa: E402,F401


# ---- log files ------------------------------------------------------------

@dataclass(frozen=True)
class Rec:
    """One record as written: where its first byte is and what the daemon
    must put in event.original (lines joined with LF, no CR)."""
    path: str
    offset: int
    original: str

    @property
    def key(self):
        return (self.path, self.offset)


def stamp(n):
    """A time of day for record number n: 08:00:00.000 plus 7 ms per record."""
    ms = (8 * 3600 * 1000 + n * 7) % (24 * 3600 * 1000)
    return "%02d:%02d:%02d.%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)


class Lines:
    """Real-looking record bodies with a unique id in each."""

    def __init__(self):
        self.n = 0

    def next_id(self):
        self.n += 1
        return self.n

    def smtp(self):
        i = self.next_id()
        return [f"{stamp(i)} [203.0.113.{i % 250 + 1}][{41200000 + i}] "
                f"cmd: RCPT TO:<user{i}@example.com>"]

    def delivery(self):
        i = self.next_id()
        return [f"{stamp(i)} [{0x5432c100 + i:08x}] Delivery started for "
                f"user{i}@example.com at 2:08:52 PM"]

    def imap(self):
        i = self.next_id()
        return [f"{stamp(i)} [198.51.100.{i % 250 + 1}] IMAP Login successful: "
                f"With user user{i}@example.net"]

    def exception(self):
        i = self.next_id()
        return [f"{stamp(i)} [203.0.113.{i % 250 + 1}][{41200000 + i}] Exception: "
                f"System.Net.Sockets.SocketException (10054): Connection reset by peer (id {i})",
                "   at System.Net.Sockets.NetworkStream.Read(Byte[] buffer, Int32 offset, Int32 size)",
                "   at MailServer.SMTP.SmtpSession.ReadLine()"]

    def for_type(self, typ):
        return {"smtpLog": self.smtp, "delivery": self.delivery,
                "imapLog": self.imap}.get(typ, self.smtp)()


class LogDir:
    """Appends to files of the log directory with one write() per call and
    remembers every record's offset."""

    def __init__(self, path):
        self.path = path
        self.lines = Lines()

    def file(self, name):
        return os.path.join(self.path, name)

    def write(self, name, data):
        """Append bytes in one write(); returns the offset they landed at."""
        if isinstance(data, str):
            data = data.encode()
        fd = os.open(self.file(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            off = os.fstat(fd).st_size
            n = os.write(fd, data)
            assert n == len(data), "short write to a log file"
        finally:
            os.close(fd)
        return off

    def append(self, name, count=1, kind=None):
        """Append count records of the file's type (or kind: a Lines method
        name); returns their Recs."""
        typ = name.split("-", 1)[1].rsplit(".", 1)[0]
        recs = []
        for _ in range(count):
            lines = getattr(self.lines, kind)() if kind else self.lines.for_type(typ)
            recs.append(self.append_lines(name, lines))
        return recs

    def append_lines(self, name, lines):
        data = "".join(l + "\r\n" for l in lines)
        off = self.write(name, data)
        return Rec(self.file(name), off, "\n".join(lines))


# ---- output ---------------------------------------------------------------

class Output:
    """The daemon's output file, parsed as it grows. Only complete lines are
    read. A line that is not JSON fails the test unless torn lines are
    tolerated (the crash test checks where they are)."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.events = []        # parsed events in file order
        self.summaries = []     # summary events (no offset), apart
        self.starts = []        # byte position of each event's line
        self.torn = []          # (start, end) of lines that are not JSON
        self.seen = set()       # (path, offset, original) of every event
        self.tolerate_torn = False

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return self.events
        end = data.rfind(b"\n")
        if end < 0:
            return self.events
        at = self.pos
        for line in data[:end].split(b"\n"):
            try:
                ev = json.loads(line)
            except ValueError as e:
                if not self.tolerate_torn:
                    raise AssertionError(f"{self.path}: the line at byte {at} is not JSON "
                                         f"({e}): {line[:300]!r}")
                self.torn.append((at, at + len(line)))
            else:
                if "summary" in ev.get("smartermail", {}):
                    # a session/delivery summary: not a record, no offset
                    self.summaries.append(ev)
                else:
                    self.events.append(ev)
                    self.starts.append(at)
                    self.seen.add((*ev_key(ev), ev_original(ev)))
            at += len(line) + 1
        self.pos += end + 1
        return self.events


def ev_key(ev):
    return (ev["log"]["file"]["path"], ev["log"]["offset"])


def ev_original(ev):
    return ev["event"]["original"]


def ev_flags(ev):
    return ev["log"].get("flags", [])


# ---- the daemon -----------------------------------------------------------

class Shim(ShimProcess):
    """Starts the daemon (always with -v: the per-file statistics on SIGUSR1
    need it), reads its output and stderr, sends signals, and at teardown
    kills whatever is still running."""

    def __init__(self, bin_path, tmp, logs, state, out):
        super().__init__(bin_path, tmp, logs, state)
        self.out_path = out
        self.out = Output(out)
        self.base_args = ["--timezone", "Etc/UTC", "--host-name", "test-host"]

    # -- process
    def start(self, *args, logs=None, wait_ready=True, config_only=False):
        if config_only:
            cmd = [self.bin, "run", "--allow-root", "-v", *args]
        else:
            cmd = [self.bin, "run", "--allow-root", "--logs", logs or self.logs, "--state", self.state,
                   "--output", "file:" + self.out_path, "-v", *self.base_args, *args]
        return self.spawn(cmd, wait_ready=wait_ready)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    # -- stderr
    def wait_read(self, name, offset, timeout=DEADLINE_S):
        """Wait until the daemon has read `name` up to `offset` bytes (from the
        per-file statistics it prints on SIGUSR1)."""
        last = [0.0]
        pat = re.compile(r"stats: " + re.escape(name) + r" read=(\d+)")

        def cond():
            got = pat.findall(self.stderr())
            if got and int(got[-1]) >= offset:
                return True
            if time.monotonic() - last[0] > 0.1:
                last[0] = time.monotonic()
                self.signal(signal.SIGUSR1)
            return False
        wait_for(cond, f"the daemon to read {name} up to byte {offset}", timeout,
                 on_timeout=self.tail)

    # -- output
    def events(self):
        return self.out.poll()

    def keys(self):
        return [ev_key(e) for e in self.events()]

    def wait_events(self, recs, timeout=DEADLINE_S):
        """Wait until every Rec in recs has come out (same file, offset and
        text: a truncated file has the same offsets again); returns all
        events."""
        want = {(r.path, r.offset, r.original) for r in recs}

        def missing():
            self.events()
            return want - self.out.seen
        wait_for(lambda: not missing(), f"{len(want)} records in the output", timeout,
                 on_timeout=lambda: f"missing {sorted(missing())[:5]} ...\n" + self.tail())
        return self.events()


@dataclass
class Env:
    tmp: str
    logs: str
    state: str
    out: str
    log: LogDir
    shim: Shim


@pytest.fixture
def env(tmp_path, shim_bin):
    """tmp/logs and tmp/state, a LogDir on logs/, and a Shim writing to
    tmp/out.jsonl. Every daemon started is killed at teardown."""
    tmp = str(tmp_path)
    logs = os.path.join(tmp, "logs")
    state = os.path.join(tmp, "state")
    os.mkdir(logs)
    os.mkdir(state)
    out = os.path.join(tmp, "out.jsonl")
    shim = Shim(shim_bin, tmp, logs, state, out)
    try:
        yield Env(tmp, logs, state, out, LogDir(logs), shim)
    finally:
        shim.cleanup()
