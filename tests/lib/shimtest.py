# SPDX-License-Identifier: MIT
"""What the daemon tests (tests/run) and the output tests (tests/receivers)
share: the shim_bin fixture, wait_for and hold, and ShimProcess, the daemon
as a real process whose stderr goes to a file. Each conftest imports these
(sys.path insert relative to its own file) and keeps its own names.

Nothing here sleeps in order to wait: wait_for polls a condition every
20 ms against a deadline and fails with a message saying what it waited
for. hold is its opposite: it checks an invariant over a stretch of time
that the test itself chose."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
POLL_S = 0.02
DEADLINE_S = 10.0


@pytest.fixture(scope="session")
def shim_bin(tmp_path_factory):
    """The daemon binary: $SHIM if set, else ./smartermail-shim built by make
    and copied, with mappings/ beside it where the binary looks for them, so
    that a rebuild during the session does not change what is tested."""
    path = os.environ.get("SHIM")
    if not path:
        r = subprocess.run(["make", "-s", "smartermail-shim"], cwd=REPO,
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail("make failed:\n" + r.stdout + r.stderr)
        path = os.path.join(REPO, "smartermail-shim")
    bindir = tmp_path_factory.mktemp("bin")
    shutil.copy2(path, bindir / "smartermail-shim")
    shutil.copytree(os.path.join(REPO, "mappings"), bindir / "mappings")
    return str(bindir / "smartermail-shim")


def wait_for(cond, what, timeout=DEADLINE_S, on_timeout=None):
    """Poll cond() every 20 ms until it returns something truthy, and return
    that. At the deadline, fail with `what` (and on_timeout(), if given, to
    say what the state was)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            extra = "\n" + on_timeout() if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}{extra}")
        time.sleep(POLL_S)


def hold(check, seconds, until=None):
    """Call check() every 20 ms for `seconds` (or until until() is true);
    check raises AssertionError at the first violation. For invariants over
    a stretch the test decided on, e.g. "the checkpoint stays put while the
    receiver is down": there is no event to wait for."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and not (until and until()):
        check()
        n += 1
        time.sleep(POLL_S)
    check()
    return n + 1


class ShimProcess:
    """The daemon as a real process: each start's stderr goes to
    TMP/<stderr_name>.N.txt; stop, signals, waits on stderr, the checkpoint
    file in STATE. cleanup() kills whatever is still running. Subclasses
    build the command line and call spawn(); deadline_s is the default
    timeout of every wait."""

    deadline_s = DEADLINE_S
    stderr_name = "stderr"

    def __init__(self, bin_path, tmp, logs, state):
        self.bin, self.tmp, self.logs, self.state = bin_path, tmp, logs, state
        self.proc = None
        self.procs = []
        self.nstarts = 0
        self.err_path = None
        self.cmd = None

    def _timeout(self, timeout):
        return self.deadline_s if timeout is None else timeout

    # -- process
    def spawn(self, cmd, env=None, wait_ready=True):
        """Start cmd (stdin and stdout /dev/null, stderr to a new file); with
        wait_ready, wait until it says it follows the logs."""
        assert not self.running(), "already running"
        self.nstarts += 1
        self.err_path = os.path.join(self.tmp, f"{self.stderr_name}.{self.nstarts}.txt")
        self.cmd = cmd
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env,
                                         stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(self.proc)
        if wait_ready:
            self.wait_stderr(r"info: following ", "the daemon to start")
        return self.proc

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        assert self.running(), "the daemon is not running:\n" + self.stderr()
        self.proc.send_signal(sig)

    def stop(self, timeout=None):
        """SIGTERM and wait for the exit; returns the exit status."""
        self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout=None):
        wait_for(lambda: self.proc.poll() is not None, "the daemon to exit",
                 self._timeout(timeout), on_timeout=self.stderr)
        return self.proc.returncode

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    # -- stderr
    def stderr(self):
        """All the current (last started) daemon wrote to stderr so far."""
        if not self.err_path:
            return ""
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, n=3000):
        return "daemon stderr:\n" + self.stderr()[-n:]

    def wait_stderr(self, pattern, what, timeout=None):
        """Wait until stderr matches pattern; returns the match. Fails at
        once when the daemon exits first."""
        def cond():
            m = re.search(pattern, self.stderr())
            if not m and not self.running():
                raise AssertionError(f"the daemon exited ({self.proc.returncode}) while "
                                     f"waiting for {what}:\n{self.stderr()}")
            return m
        return wait_for(cond, f"{what} (stderr matching {pattern!r})", self._timeout(timeout),
                        on_timeout=self.tail)

    # -- state
    def checkpoint(self):
        """{file name: offset} from STATE/checkpoint.json; {} before the
        first checkpoint."""
        try:
            with open(os.path.join(self.state, "checkpoint.json")) as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        return {e["name"]: e["offset"] for e in data["files"]}
