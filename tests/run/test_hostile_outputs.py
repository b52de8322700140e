"""Outputs and host states that must not stall the daemon or lose records:
a reader of standard output that stops reading, a TCP syslog receiver that
stops reading while records grow when encoded. Each runs the real daemon
on real files and reads back what it wrote."""
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import termios
import threading
import time

from benchutil import proc_cpu_s, proc_hwm_mib
from conftest import wait_for

SMTP = "2026.09.18-smtpLog.log"


def pipe_fill(fd):
    """Bytes waiting in the pipe whose read end is fd."""
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little")


def record_keys(events):
    """(path, offset) of each record event, summaries left out."""
    return [(e["log"]["file"]["path"], e["log"]["offset"]) for e in events
            if "summary" not in e.get("smartermail", {})]


def start_into_pipe(env, *args):
    """The daemon with --output stdout into a pipe nobody reads yet."""
    sh = env.shim
    cmd = [sh.bin, "run", "--allow-root", "--logs", env.logs, "--state", env.state,
           "--output", "stdout", "-v", *sh.base_args, *args]
    sh.nstarts += 1
    sh.err_path = os.path.join(sh.tmp, f"stderr.{sh.nstarts}.txt")
    with open(sh.err_path, "wb") as err:
        sh.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=err)
    sh.procs.append(sh.proc)
    sh.wait_stderr(r"info: following ", "the daemon to start")
    return sh.proc


def stats_answered_s(sh):
    """Send SIGUSR1; seconds until the statistics line it asks for appears."""
    before = sh.stderr().count("notice: stats: records=")
    t0 = time.monotonic()
    sh.signal(signal.SIGUSR1)
    wait_for(lambda: sh.stderr().count("notice: stats: records=") > before,
             "the statistics after SIGUSR1", 10, on_timeout=sh.tail)
    return time.monotonic() - t0


def test_stdout_reader_that_stalls_freezes_nothing(env):
    """--output stdout into a pipe nobody reads: the pipe fills and reading
    pauses, but SIGUSR1 is answered within a second and no core spins (a
    blocking write froze the daemon: no signals, no statistics, no
    watchdog). Once the reader reads, every record arrives once, the later
    ones too, and SIGTERM exits 0."""
    recs = env.log.append(SMTP, 3000)
    sh = env.shim
    proc = start_into_pipe(env, "--from", "beginning")
    rfd = proc.stdout.fileno()
    wait_for(lambda: pipe_fill(rfd) >= 60000, "the pipe to fill", 30, on_timeout=sh.tail)
    took = [stats_answered_s(sh) for _ in range(3)]
    assert max(took) < 1.0, f"SIGUSR1 answered after {max(took):.2f} s"
    cpu0, t0 = proc_cpu_s(proc.pid), time.monotonic()
    time.sleep(2)
    used = proc_cpu_s(proc.pid) - cpu0
    assert used < 0.3 * (time.monotonic() - t0), f"{used:.2f} CPU s while the reader stalls"
    got = []

    def reader():
        for line in proc.stdout:
            got.append(json.loads(line))
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    later = env.log.append(SMTP, 50)
    want = {(r.path, r.offset) for r in recs + later}
    wait_for(lambda: want <= set(record_keys(list(got))),
             f"{len(want)} records from the pipe", 60, on_timeout=sh.tail)
    peak = proc_hwm_mib(proc.pid)
    assert sh.stop() == 0
    t.join(10)
    keys = record_keys(got)
    assert len(keys) == len(set(keys)), "a record came out twice"
    assert set(keys) == want
    print(f"records {len(want)}, lost 0, repeated 0, SIGUSR1 answered in "
          f"{max(took) * 1000:.0f} ms at most, {used:.2f} CPU s in 2 s while stalled, "
          f"peak RSS {peak:.1f} MiB")


def test_sigterm_with_a_stalled_stdout_reader_exits(env):
    """SIGTERM while the reader of standard output reads nothing: the daemon
    waits --shutdown-timeout-ms for it, checkpoints what was delivered and
    exits; the records it could not deliver come out at the next start (a
    reader gets a torn last line: the record it began is sent again)."""
    recs = env.log.append(SMTP, 3000)
    sh = env.shim
    proc = start_into_pipe(env, "--from", "beginning", "--shutdown-timeout-ms", "500")
    wait_for(lambda: pipe_fill(proc.stdout.fileno()) >= 60000, "the pipe to fill", 30,
             on_timeout=sh.tail)
    t0 = time.monotonic()
    sh.signal(signal.SIGTERM)
    wait_for(lambda: proc.poll() is not None, "the daemon to exit", 10, on_timeout=sh.tail)
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 0, sh.tail()
    # what was written of the event being written stays as a torn last
    # line without its newline: that event is unacknowledged, and comes
    # again
    data = proc.stdout.read()
    first = [json.loads(l) for l in data[:data.rfind(b"\n") + 1].splitlines()]
    assert re.search(r"stopping with \d+ records unacknowledged", sh.stderr()), sh.tail()
    sh.start()
    delivered = set(record_keys(first))
    sh.wait_events([r for r in recs if (r.path, r.offset) not in delivered])
    assert sh.stop() == 0


class StalledListener:
    """A TCP syslog receiver on loopback that accepts and does not read until
    told to; then it reads octet-counted frames (RFC 6587) and keeps the JSON
    of each."""

    def __init__(self):
        self.sock = socket.socket()
        # a small receive buffer: the stall shows at once
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.go = threading.Event()
        self.events = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn, _ = self.sock.accept()
        self.go.wait()
        data = b""
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                return
            data += chunk
            while b" " in data[:12]:
                n, rest = data.split(b" ", 1)
                if len(rest) < int(n):
                    break
                msg, data = rest[:int(n)], rest[int(n):]
                self.events.append(json.loads(msg[msg.index(b'{"'):]))


def control_record(n, size):
    """A record whose text is size bytes of control characters: its JSON
    grows about six times per copy of it."""
    body = bytes(i for i in range(1, 32) if i not in (10, 13)) * (size // 29 + 1)
    return (f"{stamp_of(n)} [203.0.113.5][{41200000 + n}] cmd: ").encode() + body[:size] + b"\r\n"


def stamp_of(n):
    ms = 8 * 3600 * 1000 + n * 7
    return "%02d:%02d:%02d.%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)


def test_records_that_grow_when_encoded_to_a_stalled_tcp_receiver(env):
    """Records of control characters (within --max-record-bytes) grow about
    eleven times when encoded. To a TCP receiver that stalls, what the
    daemon holds stays near --max-inflight-bytes, since the window counts
    the encoded bytes the output holds (it counted raw bytes: ~11 times the
    limit). A record whose encoding exceeds a message (60 KB of them) is cut
    to fit and tagged smartermail_truncated, not dropped. Once the receiver
    reads, every record arrives once."""
    rx = StalledListener()
    sh = env.shim
    limit_mib = 2
    cmd = [sh.bin, "run", "--allow-root", "--logs", env.logs, "--state", env.state,
           "--output", "syslog", "--syslog-target", f"tcp://127.0.0.1:{rx.port}",
           "--max-inflight-bytes", f"{limit_mib}M", "--no-summaries", "-v",
           *sh.base_args, "--from", "beginning"]
    sh.spawn(cmd)
    base_mib = proc_hwm_mib(sh.proc.pid)
    # written after the start, so that the peak before them is known
    path = env.log.file(SMTP)
    offsets, big = [], set()
    for n in range(1, 161):
        size = 60000 if n % 40 == 0 else 20000
        off = env.log.write(SMTP, control_record(n, size))
        offsets.append(off)
        if size == 60000:
            big.add(off)
    # the window fills and stays full: the peak stops moving
    seen = []

    def settled():
        seen.append(proc_hwm_mib(sh.proc.pid))
        return len(seen) > 50 and seen[-1] == seen[-50]
    wait_for(settled, "the daemon's peak memory to settle", 30, on_timeout=sh.tail)
    grew = seen[-1] - base_mib
    assert grew < 4 * limit_mib, f"peak memory grew {grew:.1f} MiB, limit {limit_mib} MiB"
    cpu0, t0 = proc_cpu_s(sh.proc.pid), time.monotonic()
    time.sleep(1)
    used = proc_cpu_s(sh.proc.pid) - cpu0
    assert used < 0.3 * (time.monotonic() - t0), f"{used:.2f} CPU s in 1 s while stalled"
    rx.go.set()
    want = {(path, o) for o in offsets}
    wait_for(lambda: want <= set(record_keys(list(rx.events))), f"{len(want)} records", 60,
             on_timeout=lambda: f"got {len(rx.events)}\n" + sh.tail())
    keys = record_keys(rx.events)
    assert len(keys) == len(set(keys)), "a record came out twice"
    for ev in rx.events:
        cut = "smartermail_truncated" in ev.get("tags", [])
        assert cut == (ev["log"]["offset"] in big), ev["log"]["offset"]
        if cut:
            assert "truncated" in ev["log"]["flags"]
    assert sh.stop() == 0
    print(f"records {len(want)}, lost 0, repeated 0, peak RSS {seen[-1]:.1f} MiB "
          f"(start {base_mib:.1f}), {used:.2f} CPU s in 1 s while stalled")
