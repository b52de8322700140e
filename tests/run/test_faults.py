"""Faults around the daemon: a receiver that accepts and then never reads
(slow-loris), a log file the daemon may not read, and the log directory
removed and created again. The daemon must stay responsive (SIGUSR1 and
SIGTERM answered), keep memory bounded, and lose nothing."""
import json
import os
import signal
import shutil
import socket
import threading
import time

from conftest import wait_for

SMTP = "2026.09.18-smtpLog.log"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def checkpoint_offsets(state):
    try:
        with open(os.path.join(state, "checkpoint.json")) as f:
            return {e["name"]: e["offset"] for e in json.load(f)["files"]}
    except (FileNotFoundError, ValueError):
        return {}


def test_stalled_receiver_keeps_daemon_responsive(env):
    """A TCP syslog receiver that accepts and never reads: the socket buffers
    fill, reading pauses (the checkpoint does not pass what the receiver's
    kernel did not acknowledge), memory stays bounded, and the daemon still
    answers SIGUSR1 and stops on SIGTERM within its shutdown timeout."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    conns = []
    threading.Thread(target=lambda: conns.append(srv.accept()[0]), daemon=True).start()
    recs = env.log.append(SMTP, 3000)
    sh = env.shim
    sh.start("--from", "beginning", "--output", "syslog",
             "--syslog-target", f"tcp://127.0.0.1:{port}", "--max-inflight-records", "500",
             "--shutdown-timeout-ms", "2000", "--checkpoint-interval-ms", "50")
    wait_for(lambda: conns, "the receiver to be connected", 10)
    # the window fills and stays full: reading pauses
    wait_for(lambda: "inflight=500" in sh.stderr() or sh.signal(signal.SIGUSR1),
             "the in-flight window to fill", 15)
    size = os.path.getsize(env.log.file(SMTP))
    before = rss_kib(sh.proc.pid)
    more = env.log.append(SMTP, 3000)
    deadline = time.monotonic() + 3
    peak = before
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(sh.proc.pid))
        time.sleep(0.05)
    off2 = checkpoint_offsets(env.state).get(SMTP, 0)
    assert off2 < size, "the checkpoint passed records the receiver never read"
    assert peak - before < 8 * 1024, f"memory grew by {peak - before} KiB while paused"
    # still responsive
    n = sh.stderr().count("stats: records=")
    sh.signal(signal.SIGUSR1)
    wait_for(lambda: sh.stderr().count("stats: records=") > n, "an answer to SIGUSR1", 5)
    t0 = time.monotonic()
    assert sh.stop(timeout=15) == 0
    assert time.monotonic() - t0 < 10, "SIGTERM took too long with a stalled receiver"
    assert "unacknowledged" in sh.stderr()
    for c in conns:
        c.close()
    srv.close()
    assert recs and more


def test_unreadable_file_is_retried_and_nothing_lost(env):
    """A log file the daemon cannot open is warned about once and retried;
    once readable, every record comes out. (The suite runs as root, which
    reads through file modes, so the name is made a dangling link.)"""
    recs = env.log.append(SMTP, 5)
    path = env.log.file(SMTP)
    sh = env.shim
    # an unopenable file under its name: a dangling symbolic link
    real = path + ".real"
    os.rename(path, real)
    os.symlink(real + ".missing", path)
    sh.start("--from", "beginning", "--poll-interval-ms", "100", "--watch", "poll")
    sh.wait_stderr(r"cannot open: No such file or directory \(retrying\)",
                   "a warning about the unreadable file")
    os.unlink(path)
    os.rename(real, path)
    sh.wait_events(recs)
    assert sh.stderr().count("cannot open") == 1, "the warning repeated"
    assert sh.stop() == 0


def test_log_dir_removed_and_recreated(env):
    """The log directory disappears and comes back: the daemon says it is
    waiting, then follows the new directory from the start of its files."""
    first = env.log.append(SMTP, 3)
    sh = env.shim
    sh.start("--from", "beginning", "--poll-interval-ms", "100")
    sh.wait_events(first)
    shutil.rmtree(env.logs)
    sh.wait_stderr(r"went away|No such file or directory; waiting", "the daemon to notice")
    os.mkdir(env.logs)
    again = env.log.append("2026.09.19-smtpLog.log", 4)
    sh.wait_events(first + again)
    assert sh.stop() == 0
