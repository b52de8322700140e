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

from benchutil import proc_status_kib
from conftest import wait_for

SMTP = "2026.09.18-smtpLog.log"


def tcp_receiver(rcvbuf=None):
    """A TCP listener on loopback that accepts one connection in a thread
    and reads nothing: (listening socket, port, list the connection lands
    in). rcvbuf shrinks its receive buffer, so that little is acknowledged
    unread."""
    srv = socket.socket()
    if rcvbuf:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    conns = []
    threading.Thread(target=lambda: conns.append(srv.accept()[0]), daemon=True).start()
    return srv, srv.getsockname()[1], conns


def read_until_exit(sh, recv, got=None):
    """A thread calling recv() (a socket's, with a timeout set) until the
    daemon has exited: its summaries at the stop need a reader too. With a
    list got, the (path, offset) of each record received goes there."""
    def run():
        while sh.running():
            try:
                key = syslog_key(recv()) if got is not None else recv()
            except socket.timeout:
                continue
            if got is not None and key:
                got.append(key)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def assert_responsive(sh, times=3, within_s=1.0):
    """SIGUSR1 is answered (statistics on stderr) within within_s, each of
    several times."""
    for _ in range(times):
        n = sh.stderr().count("stats: records=")
        t0 = time.monotonic()
        sh.signal(signal.SIGUSR1)
        wait_for(lambda: sh.stderr().count("stats: records=") > n, "an answer to SIGUSR1", 10)
        took = time.monotonic() - t0
        assert took < within_s, f"SIGUSR1 answered after {took:.2f} s"
        time.sleep(0.1)


def syslog_key(msg):
    """(path, offset) of the record in one syslog message (JSON MSG), None
    for a summary."""
    ev = json.loads(msg[msg.index(b"{"):])
    if "offset" not in ev.get("log", {}):
        return None         # a summary
    return (ev["log"]["file"]["path"], ev["log"]["offset"])


def test_stalled_receiver_keeps_daemon_responsive(env):
    """A TCP syslog receiver that accepts and never reads: the socket buffers
    fill, reading pauses (the checkpoint does not pass what the receiver's
    kernel did not acknowledge), memory stays bounded, and the daemon still
    answers SIGUSR1 and stops on SIGTERM within its shutdown timeout."""
    srv, port, conns = tcp_receiver(rcvbuf=4096)
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
    before = proc_status_kib(sh.proc.pid, "VmRSS")
    more = env.log.append(SMTP, 3000)
    deadline = time.monotonic() + 3
    peak = before
    while time.monotonic() < deadline:
        peak = max(peak, proc_status_kib(sh.proc.pid, "VmRSS"))
        time.sleep(0.05)
    off2 = sh.checkpoint().get(SMTP, 0)
    assert off2 < size, "the checkpoint passed records the receiver never read"
    assert peak - before < 8 * 1024, f"memory grew by {peak - before} KiB while paused"
    assert_responsive(sh)
    t0 = time.monotonic()
    assert sh.stop(timeout=15) == 0
    assert time.monotonic() - t0 < 10, "SIGTERM took too long with a stalled receiver"
    assert "unacknowledged" in sh.stderr()
    for c in conns:
        c.close()
    srv.close()
    assert recs and more


def test_unix_socket_receiver_not_reading(env, tmp_path):
    """A local syslog receiver (unix datagram socket) that stops reading:
    its queue fills, the daemon pauses reading instead of blocking in
    send(), answers signals at once, and once the receiver reads again
    every record arrives, each once."""
    path = str(tmp_path / "syslog.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    recs = env.log.append(SMTP, 500)
    sh = env.shim
    sh.start("--from", "beginning", "--output", "syslog", "--syslog-target", f"unix://{path}",
             "--checkpoint-interval-ms", "50")
    time.sleep(1.0)     # the queue holds a few datagrams: full by now
    assert_responsive(sh)
    size = os.path.getsize(env.log.file(SMTP))
    assert sh.checkpoint().get(SMTP, 0) < size, \
        "the checkpoint passed records the receiver never read"
    got = []
    rx.settimeout(0.2)
    reader = read_until_exit(sh, lambda: rx.recv(1 << 20), got)
    wait_for(lambda: {r.key for r in recs} <= set(got), "every record once the receiver reads",
             30)
    assert sh.stop() == 0, sh.stderr()
    reader.join()
    assert len(got) == len(set(got)) == len(recs), (len(got), len(set(got)), len(recs))
    rx.close()


def test_tls_receiver_silent_after_accept(env):
    """A tls:// receiver that accepts the TCP connection and never answers
    the handshake, with a long connect timeout: the handshake proceeds step
    by step in the event loop, so the daemon answers SIGUSR1 at once and
    stops at once; nothing counts as delivered."""
    srv, port, conns = tcp_receiver()
    env.log.append(SMTP, 50)
    sh = env.shim
    sh.start("--from", "beginning", "--output", "syslog", "--syslog-target",
             f"tls://127.0.0.1:{port}", "--no-syslog-tls-verify",
             "--syslog-connect-timeout-ms", "30000", "--shutdown-timeout-ms", "1000",
             "--checkpoint-interval-ms", "50")
    wait_for(lambda: conns, "the receiver to be connected", 10)
    time.sleep(0.5)
    assert_responsive(sh)
    assert sh.checkpoint().get(SMTP, 0) == 0, \
        "records counted as delivered over a connection without a handshake"
    t0 = time.monotonic()
    assert sh.stop(timeout=15) == 0, sh.stderr()
    assert time.monotonic() - t0 < 5, "SIGTERM took too long during a stalled handshake"
    for c in conns:
        c.close()
    srv.close()


def test_truncated_while_records_in_flight(env):
    """The file is truncated and written anew while records of its old
    content are still unacknowledged (a receiver that reads slowly): when
    those are acknowledged they must not move the new content's checkpoint
    to their old offsets. A checkpoint past what the new content has
    delivered would make a restart after a crash skip records of it."""
    srv, port, conns = tcp_receiver(rcvbuf=4096)
    old = env.log.append(SMTP, 400)
    sh = env.shim
    sh.start("--from", "beginning", "--output", "syslog", "--syslog-target",
             f"tcp://127.0.0.1:{port}", "--max-inflight-records", "2000",
             "--checkpoint-interval-ms", "20")
    wait_for(lambda: conns, "the receiver to be connected", 10)
    sh.wait_read(SMTP, old[-1].offset + 1)
    assert sh.checkpoint().get(SMTP, 0) < old[-1].offset, \
        "the old records were all acknowledged: the receiver did not hold them"
    # the new content: shorter than the old, then growing
    os.truncate(env.log.file(SMTP), 0)
    new = env.log.append(SMTP, 5)
    sh.wait_stderr(r"truncated; reading it again", "the daemon to see the truncation")
    sh.wait_read(SMTP, new[-1].offset + 1)
    # the receiver now reads everything, slowly: old records are acknowledged
    conn = conns[0]
    conn.settimeout(0.05)
    worst = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if not conn.recv(2048):
                break
            time.sleep(0.01)    # slowly: checkpoints are written meanwhile
        except socket.timeout:
            if sh.checkpoint().get(SMTP) == os.path.getsize(env.log.file(SMTP)):
                break
        worst = max(worst, sh.checkpoint().get(SMTP, 0))
    size = os.path.getsize(env.log.file(SMTP))
    assert worst <= size, (f"the checkpoint named offset {worst} of the new content, "
                           f"which has {size} bytes: old records moved it")
    assert sh.checkpoint().get(SMTP) == size, "the new content was not delivered"
    reader = read_until_exit(sh, lambda: conn.recv(1 << 16))
    assert sh.stop() == 0, sh.stderr()
    reader.join()
    conn.close()
    srv.close()


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


def test_sighup_with_a_missing_secret_file_keeps_the_output(env, tmp_path):
    """SIGHUP reopens the outputs; when a file one needs (here the Kafka
    secret of --kafka-property-file) has gone, that output is not reopened
    and goes on as it was, and the daemon keeps running (it crashed on the
    next record before)."""
    pw = tmp_path / "secret"
    pw.write_text("s3cret\n")
    sh = env.shim
    sh.start("--from", "beginning", "--output", "kafka", "--kafka-brokers", "127.0.0.1:9",
             "--kafka-property-file", f"sasl.password={pw}", "--shutdown-timeout-ms", "1000")
    pw.unlink()
    sh.signal(signal.SIGHUP)
    sh.wait_stderr(r"SIGHUP: output kafka \S+ not reopened", "the refused reopen")
    assert f"kafka-property-file: {pw}: No such file or directory" in sh.stderr()
    env.log.append(SMTP, 2)
    time.sleep(1.0)
    assert sh.running(), sh.stderr()
    assert_responsive(sh)
    assert sh.stop() == 0, sh.stderr()


def test_udp_datagram_too_large_is_skipped_not_retried(env):
    """A record whose message cannot fit one UDP datagram (64 KiB) is skipped
    for that output with an error, once; the records after it go on (it
    was retried for ever, holding every later record, before)."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]
    before = env.log.append(SMTP, 1)
    big = env.log.append_lines(SMTP, ["08:00:01.000 [203.0.113.9][99999999] cmd: DATA " +
                                      "x" * 40000])
    after = env.log.append(SMTP, 1)
    sh = env.shim
    sh.start("--from", "beginning", "--output", "syslog", "--syslog-target",
             f"udp://127.0.0.1:{port}", "--no-summaries")
    got = set()
    rx.settimeout(0.2)

    def poll():
        try:
            while True:
                key = syslog_key(rx.recv(1 << 17))
                if key:
                    got.add(key)
        except socket.timeout:
            pass
        return {before[0].key, after[0].key} <= got
    wait_for(poll, "the records around the large one", 10)
    assert big.key not in got
    assert sh.stderr().count("too large to encode; skipped for this output") == 1, sh.stderr()
    assert sh.stop() == 0, sh.stderr()
    rx.close()
