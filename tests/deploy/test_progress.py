# SPDX-License-Identifier: MIT
"""parse's progress line, through the real binary: with standard error on a
terminal (a pseudo-terminal here) and the events going to a file, one line
redrawn in place and erased at the end; with standard error on a pipe,
nothing at all. The input is a FIFO fed a few lines at a time, so that the
run lasts past the first redraw without sleeping for it: the feeder keeps
going until the line has appeared (or a deadline passes)."""

import os
import pty
import select
import subprocess
import time

from conftest import REPO

LINE = (b"22:54:21.530 [123.123.123.123][63985015] cmd: MAIL FROM:<a@example.com> SIZE=943\r\n")
DEADLINE_S = 10.0


def feed_until(fifo_w, done, what):
    """Write a chunk to the FIFO every 20 ms until done() says so; fail at
    the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        os.write(fifo_w, LINE * 50)
        time.sleep(0.02)        # pacing the writer, not waiting for a result


def start(shim, tmp_path, stderr):
    fifo = str(tmp_path / "2018.05.07-smtpLog.log")
    os.mkfifo(fifo)
    out = open(tmp_path / "events.json", "wb")
    p = subprocess.Popen([shim, "parse", "--timezone", "America/Chicago",
                          "--mappings", os.path.join(REPO, "mappings"), fifo],
                         stdout=out, stderr=stderr, stdin=subprocess.DEVNULL)
    out.close()
    return p, os.open(fifo, os.O_WRONLY)


def test_progress_on_a_terminal(shim, tmp_path):
    master, slave = pty.openpty()
    p, w = start(shim, tmp_path, slave)
    os.close(slave)
    seen = bytearray()

    def line_shown():
        while select.select([master], [], [], 0)[0]:
            try:
                seen.extend(os.read(master, 4096))
            except OSError:
                break
        return b"parse: 0/1 files" in seen

    try:
        feed_until(w, line_shown, "the progress line on the terminal")
    finally:
        os.close(w)
    assert p.wait(timeout=DEADLINE_S) == 0
    while True:         # the rest, up to the end of the child's side
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen.extend(chunk)
    os.close(master)
    text = bytes(seen)
    assert text.startswith(b"\rparse: 0/1 files, "), text[:80]
    assert b" MB/s" in text
    assert b"\n" not in text, "the line must overwrite itself, never scroll"
    assert text.endswith(b"\r\x1b[K"), "the line must be erased at the end"
    events = (tmp_path / "events.json").read_bytes()
    assert events.count(b"\n") >= 50 and b"\x1b" not in events and b"parse: " not in events


def test_no_progress_on_a_pipe(shim, tmp_path):
    p, w = start(shim, tmp_path, subprocess.PIPE)
    try:
        # as long as in the test above, and some more
        end = time.monotonic() + 0.5
        feed_until(w, lambda: time.monotonic() > end, "half a second of input")
    finally:
        os.close(w)
    err = p.stderr.read()
    assert p.wait(timeout=DEADLINE_S) == 0
    assert err == b""
