# SPDX-License-Identifier: MIT
"""Wall-clock jumps under the daemon. libfaketime (LD_PRELOAD) moves the
wall clock the daemon sees two days forward, then three hours behind the real
one, while records are written; the monotonic clock is left alone
(FAKETIME_DONT_FAKE_MONOTONIC). Nothing in `run` may depend on the wall
clock: every record comes out exactly once, the checkpoint keeps advancing,
the quiet flush and the partial-line timeout fire, SIGUSR1 is answered and
SIGTERM stops the daemon; and an open SMTP session's summary comes out about
--summary-idle-timeout-s after its last record whichever way the clock
jumped: not at once after a jump forward, not hours late after one back.

libfaketime must be installed (`make deps`): without it the tests fail
rather than skip, since they would prove nothing."""

import datetime
import glob
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import Rec, wait_for
from test_follow import assert_same

SMTP = "2026.09.18-smtpLog.log"
DELIVERY = "2026.09.18-delivery.log"
DAY = 86400
# (libfaketime offset from the real clock, the same in seconds): a jump
# forward, then one back past the real time
JUMPS = (("+2d", 2 * DAY), ("-3h", -3 * 3600))
ARGS = ("--quiet-ms", "200", "--partial-line-timeout-ms", "500",
        "--checkpoint-interval-ms", "50")
IDLE_S = 2


def faketime_lib():
    """libfaketime.so.1 as the Debian package libfaketime installs it."""
    found = []
    r = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True)
    if r.returncode == 0:
        found = [p for p in r.stdout.split() if p.endswith("/libfaketime.so.1")]
    found = found or sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
                            + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    if not found:
        pytest.fail("libfaketime is not installed (Debian package faketime; `make deps` "
                    "installs it): the clock-jump tests cannot run")
    return found[0]


class FakeClock:
    """The wall clock of every process the test starts from now on: the real
    one plus an offset, read from a file libfaketime reads again at every
    call (FAKETIME_NO_CACHE), so rewriting the file jumps the clock of a
    running daemon."""

    def __init__(self, tmp, monkeypatch):
        self.path = os.path.join(tmp, "faketime.rc")
        self.lib = faketime_lib()
        self.set("+0", 0)
        monkeypatch.delenv("FAKETIME", raising=False)   # it would win over the file
        monkeypatch.setenv("LD_PRELOAD", self.lib)
        monkeypatch.setenv("FAKETIME_TIMESTAMP_FILE", self.path)
        monkeypatch.setenv("FAKETIME_NO_CACHE", "1")
        monkeypatch.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        # a daemon built with ASan (make check-asan) refuses a library
        # preloaded before its runtime unless told it may
        asan = os.environ.get("ASAN_OPTIONS", "")
        monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "") + "verify_asan_link_order=0")

    def set(self, offset, offset_s):
        """Move the clock to real + offset (libfaketime's syntax, "+2d"), and
        check with date(1) that offset_s is what a process now sees."""
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write(offset + "\n")
        os.replace(tmp, self.path)      # never a half-written file
        if os.environ.get("LD_PRELOAD") == self.lib:
            seen = int(subprocess.run(["date", "+%s"], capture_output=True, text=True,
                                      check=True).stdout)
            assert abs(seen - time.time() - offset_s) < 60, \
                f"libfaketime did not apply {offset!r}: date says {seen}, real {time.time():.0f}"

    def assert_loaded(self, pid):
        with open(f"/proc/{pid}/maps") as f:
            assert self.lib in f.read(), "the daemon runs without libfaketime"


@pytest.fixture
def clock(env, monkeypatch):
    """A FakeClock for the daemons of env. At teardown, the shared memory
    libfaketime keeps per process is removed for those killed (a clean exit
    removes its own): a stale one makes a later process of the same pid fail."""
    yield FakeClock(env.tmp, monkeypatch)
    env.shim.cleanup()
    for p in env.shim.procs:
        for f in (f"/dev/shm/faketime_shm_{p.pid}", f"/dev/shm/sem.faketime_sem_{p.pid}"):
            if os.path.exists(f):
                os.unlink(f)


def append_paced(log, n):
    """Append n records to SMTP and DELIVERY in turns, 5 ms apart, in a
    thread: a clock jump made meanwhile falls among them. Returns the thread
    and the list the Recs land in."""
    recs = []

    def run():
        for i in range(n):
            recs.extend(log.append(SMTP if i % 2 else DELIVERY))
            time.sleep(0.005)
    t = threading.Thread(target=run)
    t.start()
    return t, recs


def wait_checkpoint_at_end(env, names):
    sizes = {n: os.path.getsize(env.log.file(n)) for n in names}
    wait_for(lambda: all(env.shim.checkpoint().get(n) == s for n, s in sizes.items()),
             f"the checkpoint to reach the end of {names}",
             on_timeout=lambda: f"checkpoint {env.shim.checkpoint()}, sizes {sizes}")
    return sizes


def test_records_checkpoint_flush_and_signals_across_jumps(env, clock):
    """Records written before, during and after each jump: each comes out
    once, the last ones after the quiet time, a line without its newline
    after the partial-line timeout; the checkpoint reaches the end of each
    file; SIGUSR1 and SIGTERM are answered; a restart repeats nothing."""
    sh, log = env.shim, env.log
    sh.start(*ARGS)
    clock.assert_loaded(sh.proc.pid)
    recs = []
    last = {}
    partial_day = 19
    for offset, offset_s in (("+0", 0),) + JUMPS:
        # before, during and after the jump
        recs += log.append(SMTP, 3)
        writer, during = append_paced(log, 20)
        clock.set(offset, offset_s)
        writer.join()
        recs += during
        recs += log.append(DELIVERY, 2)
        t0 = time.monotonic()
        sh.wait_events(recs)
        # the last record of each file waited for the quiet time, no longer
        waited = time.monotonic() - t0
        assert 0.15 <= waited < 5, f"the last records came after {waited:.3f} s (quiet 200 ms)"
        sizes = wait_checkpoint_at_end(env, [SMTP, DELIVERY])
        assert all(sizes[n] > last.get(n, 0) for n in sizes), "the checkpoint did not advance"
        last = sizes
        sh.wait_read(SMTP, sizes[SMTP])         # SIGUSR1 answered
        # a last line without its newline, alone in a new file: out after
        # the partial-line timeout
        name = f"2026.09.{partial_day}-imapLog.log"
        partial_day += 1
        line = log.lines.imap()[0]
        recs.append(Rec(log.file(name), log.write(name, line), line))
        sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)
    wait_checkpoint_at_end(env, [SMTP, DELIVERY])
    # started again on the clock three hours behind: nothing twice
    sh.start(*ARGS)
    recs += log.append(SMTP, 2)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


def smtp_line(session, text):
    """A line of session `session` stamped with the real time (UTC, the
    daemon runs with --timezone Etc/UTC)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now:%H:%M:%S}.{now.microsecond // 1000:03d} [203.0.113.9][{session}] {text}"


@pytest.mark.parametrize("offset,offset_s", (("+0", 0),) + JUMPS,
                         ids=["no-jump", "forward-2d", "back-3h"])
def test_session_summary_after_idle_timeout_across_jump(env, clock, offset, offset_s):
    """Session 41200377 gets a record, the clock jumps, it gets another: its
    summary (partial, idle-timeout) must come out once, about
    --summary-idle-timeout-s after that last record."""
    sh, log = env.shim, env.log
    today = datetime.datetime.now(datetime.timezone.utc)
    name = f"{today:%Y.%m.%d}-smtpLog.log"
    sh.start(*ARGS, "--summary-idle-timeout-s", str(IDLE_S))
    clock.assert_loaded(sh.proc.pid)
    recs = [log.append_lines(name, [smtp_line(41200377, "rsp: 220 mail.example.net")])]
    sh.wait_events(recs)
    clock.set(offset, offset_s)
    recs.append(log.append_lines(name, [smtp_line(41200377, "cmd: EHLO mx.example.com")]))
    t_last = time.monotonic()
    sh.wait_events(recs)
    # the table of open sessions keeps it: no summary yet
    assert not sh.out.summaries, \
        f"the session was closed at once after the jump {offset}: {sh.out.summaries}"

    def summary():
        sh.events()
        return sh.out.summaries
    got = wait_for(summary, f"the session summary ({IDLE_S} s idle timeout)", timeout=IDLE_S + 5,
                   on_timeout=lambda: "stderr:\n" + sh.stderr()[-2000:])
    waited = time.monotonic() - t_last
    assert IDLE_S - 0.05 <= waited <= IDLE_S + 1.5, \
        f"the summary came {waited:.2f} s after the last record, idle timeout {IDLE_S} s"
    sm = got[0]["smartermail"]
    assert sm["session_id"] == "41200377"
    assert sm["summary"]["end_reason"] == "idle-timeout"
    assert sm["summary"]["partial"] is True
    assert sm["summary"]["records"] == 2
    sh.signal(signal.SIGUSR1)
    sh.wait_stderr(r"stats: ", "SIGUSR1 to be answered")
    assert sh.stop() == 0
    assert len(sh.out.summaries) == 1, f"summaries: {sh.out.summaries}"
    assert_same(sh.events(), recs)
