# SPDX-License-Identifier: MIT
"""Run mode against real files and a real process: following, start
positions, day rollover, truncation, re-created files, records split across
writes, the record ceiling, polling, the quiet flush, kill -9 and SIGTERM
under load, a missing log directory and the config file.

Each test compares the exact records that came out (file, offset and raw
text, in per-file order) with what was written."""

import bisect
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import defaultdict

import pytest

from conftest import (Lines, LogDir, Output, Rec, ev_flags, ev_key, ev_original,
                      stamp, wait_for)

SMTP = "2026.09.18-smtpLog.log"
DELIVERY = "2026.09.18-delivery.log"
IMAP = "2026.09.18-imapLog.log"
SMTP_NEXT_DAY = "2026.09.19-smtpLog.log"

FAST = ("--quiet-ms", "200")


def assert_same(events, recs):
    """The events are exactly recs: per file the same (offset, original) in
    the same order, nothing missing, nothing extra, nothing twice."""
    got, want = defaultdict(list), defaultdict(list)
    for e in events:
        path, off = ev_key(e)
        got[path].append((off, ev_original(e)))
    for r in recs:
        want[r.path].append((r.offset, r.original))
    if got == want:
        return
    lines = []
    for path in sorted(set(got) | set(want)):
        g, w = got.get(path, []), want.get(path, [])
        if g == w:
            continue
        gs, ws = set(g), set(w)
        lines.append(f"{os.path.basename(path)}: {len(g)} events, {len(w)} records written")
        lines += [f"  missing {x[0]}: {x[1][:120]!r}" for x in sorted(ws - gs)[:5]]
        lines += [f"  extra   {x[0]}: {x[1][:120]!r}" for x in sorted(gs - ws)[:5]]
        dups = sorted({x for x in g if g.count(x) > 1})
        lines += [f"  twice   {x[0]}: {x[1][:120]!r}" for x in dups[:5]]
        if not (ws - gs or gs - ws or dups):
            lines.append(f"  out of order: {[x[0] for x in g][:20]}")
    raise AssertionError("output differs from the records written:\n" + "\n".join(lines))


# ---- 1. append while running; SIGTERM and restart --------------------------

def test_append_while_running_then_restart(env):
    sh, log = env.shim, env.log
    sh.start(*FAST)
    recs = []
    for _ in range(4):
        recs += log.append(SMTP, 3)
        recs += log.append(DELIVERY, 2)
        sh.wait_events(recs)
        assert_same(sh.events(), recs)
    assert sh.stop() == 0
    # written while stopped, then while running again
    recs += log.append(SMTP, 4)
    recs += log.append(DELIVERY, 1, kind="exception")
    sh.start(*FAST)
    recs += log.append(SMTP, 2)
    recs += log.append(DELIVERY, 2)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


def test_statistics_give_the_unparsed_rate(env):
    """The statistics line says how many records no rule knew and their
    share of all records (unparsed_pct, two decimals; 0.00 before any)."""
    sh, log = env.shim, env.log
    sh.start(*FAST)
    sh.signal(signal.SIGUSR1)
    sh.wait_stderr(r"stats: records=0 bytes=0 unparsed=0 unparsed_pct=0\.00 truncated=0 ",
                   "the statistics before any record")
    recs = [log.append_lines(SMTP, [f"{stamp(i)} [203.0.113.9][{41300000 + i}] cmd: EHLO "
                                    "mx.example.com"]) for i in range(3)]
    recs.append(log.append_lines(SMTP, [f"{stamp(3)} [203.0.113.9][41300003] A line no rule knows"]))
    sh.wait_events(recs)
    sh.signal(signal.SIGUSR1)
    sh.wait_stderr(r"stats: records=4 bytes=\d+ unparsed=1 unparsed_pct=25\.00 truncated=0 ",
                   "the statistics after four records")
    assert sh.stop() == 0


# ---- 2. start position ---------------------------------------------------

def test_first_start_reads_only_what_is_appended(env):
    sh, log = env.shim, env.log
    log.append(SMTP, 5)
    log.append(DELIVERY, 3, kind="exception")
    sh.start(*FAST)
    new = log.append(SMTP, 2) + log.append(DELIVERY, 1)
    new += log.append(IMAP, 3)              # created after the start: read from 0
    assert new[-3].offset == 0
    sh.wait_events(new)
    assert sh.stop() == 0
    assert_same(sh.events(), new)


def test_from_beginning_reads_everything(env):
    sh, log = env.shim, env.log
    old = log.append(SMTP, 5) + log.append(DELIVERY, 3, kind="exception")
    sh.start("--from", "beginning", *FAST)
    new = log.append(SMTP, 2) + log.append(IMAP, 2)
    sh.wait_events(old + new)
    assert sh.stop() == 0
    assert_same(sh.events(), old + new)


def test_first_start_killed_before_any_checkpoint(env):
    """The first start decides where the files present then begin. A kill -9
    before anything was acknowledged must not make the next start a 'first
    start' again: what was appended meanwhile, and files created meanwhile,
    are read."""
    sh, log = env.shim, env.log
    log.append(SMTP, 3)
    sh.start(*FAST)
    sh.kill9()
    later = log.append(SMTP, 2) + log.append(IMAP, 2)
    sh.start(*FAST)
    sh.wait_events(later)
    assert sh.stop() == 0
    assert_same(sh.events(), later)


# ---- 3. a new day's file ---------------------------------------------------

def test_next_day_file_picked_up_and_old_day_still_drained(env):
    sh, log = env.shim, env.log
    sh.start("--quiet-ms", "100")
    recs = log.append(SMTP, 3)
    sh.wait_events(recs)
    t0 = time.monotonic()
    nxt = log.append(SMTP_NEXT_DAY, 1)
    sh.wait_events(recs + nxt, timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    late = log.append(SMTP, 2)              # the old day keeps growing a little
    nxt += log.append(SMTP_NEXT_DAY, 1)
    sh.wait_events(recs + nxt + late)
    assert sh.stop() == 0
    assert_same(sh.events(), recs + late + nxt)
    days = {ev_key(e): e["@timestamp"][:10] for e in sh.events()}
    assert {days[r.key] for r in recs + late} == {"2026-09-18"}
    assert {days[r.key] for r in nxt} == {"2026-09-19"}


# ---- 4. truncation ---------------------------------------------------------

def copy_truncate(path):
    shutil.copyfile(path, path + ".1")
    os.truncate(path, 0)


@pytest.mark.parametrize("grow_back", [False, True], ids=["shorter", "grown-back"])
def test_truncation_reads_new_content_from_zero(env, grow_back):
    """copy-truncate, then new content. 'grown-back': the daemon is frozen
    (SIGSTOP) while the file is truncated and rewritten longer than what it
    had read, so only the first bytes tell it is not plain growth."""
    sh, log = env.shim, env.log
    sh.start(*FAST)
    old = log.append(SMTP, 6)
    sh.wait_events(old)
    if grow_back:
        sh.signal(signal.SIGSTOP)
    copy_truncate(log.file(SMTP))
    new = log.append(SMTP, 12 if grow_back else 2)
    if grow_back:
        assert new[-1].offset > old[-1].offset
        sh.signal(signal.SIGCONT)
    assert new[0].offset == 0
    sh.wait_events(old + new)
    new += log.append(SMTP, 1)
    sh.wait_events(old + new)
    assert sh.stop() == 0
    assert_same(sh.events(), old + new)
    assert re.search(r"warning: " + re.escape(log.file(SMTP)) +
                     r": (truncated|replaced by another file); reading it again from the start",
                     sh.stderr()), sh.stderr()


# ---- 5. deleted and created again under the same name ------------------------

@pytest.mark.parametrize("how", ["immediately", "frozen", "after-release", "while-stopped"])
def test_recreated_file_read_from_zero(env, how):
    """Delete a file and create it again with other content:
    immediately   while running, delete and create back to back;
    frozen        the daemon is SIGSTOPped meanwhile, so it sees both at once;
    after-release the daemon let go of the deleted file first;
    while-stopped the daemon is down (the inode is then usually reused)."""
    sh, log = env.shim, env.log
    path = log.file(SMTP)
    sh.start(*FAST)
    old = log.append(SMTP, 5)
    sh.wait_events(old)
    ino = os.stat(path).st_ino
    if how == "frozen":
        sh.signal(signal.SIGSTOP)
    elif how == "while-stopped":
        assert sh.stop() == 0
    os.unlink(path)
    if how == "after-release":
        sh.wait_stderr(re.escape(path) + r": removed; released", "the deleted file released")
    new = log.append(SMTP, 3, kind="delivery")
    if how == "while-stopped":
        print("inode reused:", os.stat(path).st_ino == ino)
        sh.start(*FAST)
    elif how == "frozen":
        sh.signal(signal.SIGCONT)
    assert new[0].offset == 0
    sh.wait_events(old + new)
    new += log.append(SMTP, 2)              # and it is followed on
    sh.wait_events(old + new)
    assert sh.stop() == 0
    assert_same(sh.events(), old + new)


# ---- 6. records split across writes ------------------------------------------

def test_line_split_across_writes(env):
    sh, log = env.shim, env.log
    sh.start(*FAST)
    recs = log.append(SMTP, 1)
    line = log.lines.smtp()[0]
    half = len(line) // 2
    off = log.write(SMTP, line[:half])
    sh.wait_read(SMTP, off + half)
    log.write(SMTP, line[half:] + "\r\n")
    recs.append(Rec(log.file(SMTP), off, line))
    recs += log.append(SMTP, 1)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


def test_crlf_split_between_cr_and_lf(env):
    sh, log = env.shim, env.log
    sh.start(*FAST)
    recs = log.append(SMTP, 1)
    line = log.lines.smtp()[0]
    off = log.write(SMTP, line + "\r")
    sh.wait_read(SMTP, off + len(line) + 1)
    log.write(SMTP, "\n")
    recs.append(Rec(log.file(SMTP), off, line))
    recs += log.append(SMTP, 1)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)
    assert not any("\r" in ev_original(e) for e in sh.events())


def test_multiline_record_written_in_pieces(env):
    sh, log = env.shim, env.log
    # a long quiet time: the pieces come slowly, and only the next record
    # may end the exception
    sh.start("--quiet-ms", "5000")
    recs = log.append(SMTP, 1)
    lines = log.lines.exception()
    off = None
    for piece in lines:
        at = log.write(SMTP, piece + "\r\n")
        off = at if off is None else off
        sh.wait_read(SMTP, at + len(piece) + 2)
    recs.append(Rec(log.file(SMTP), off, "\n".join(lines)))
    recs += log.append(SMTP, 2)
    sh.wait_events(recs[:-1])
    assert sh.stop() == 0                   # the last one is flushed at the stop
    assert_same(sh.events(), recs)
    ev = next(e for e in sh.events() if ev_key(e) == recs[1].key)
    assert "multiline" in ev_flags(ev)
    for cont in lines[1:]:
        assert cont in ev["message"]


def test_sigterm_with_half_a_line_written(env):
    """A stop while a line is half written must not cut it in two records:
    the next start reads the whole line."""
    sh, log = env.shim, env.log
    sh.start(*FAST)
    recs = log.append(SMTP, 2)
    line = log.lines.smtp()[0]
    off = log.write(SMTP, line[:20])
    sh.wait_read(SMTP, off + 20)
    assert sh.stop() == 0
    log.write(SMTP, line[20:] + "\r\n")
    recs.append(Rec(log.file(SMTP), off, line))
    recs += log.append(SMTP, 1)
    sh.start(*FAST)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


# ---- 7. the record ceiling -----------------------------------------------------

def test_one_mib_line_is_cut_and_flagged(env):
    sh, log = env.shim, env.log
    sh.start(*FAST)
    recs = log.append(SMTP, 1)
    head = f"{stamp(999)} [203.0.113.9][41200377] rsp: 250-"
    big = head + "X" * (1024 * 1024 - len(head))
    off = log.write(SMTP, big + "\r\n")
    after = log.append(SMTP, 2)
    sh.wait_events(recs + after)
    assert sh.stop() == 0
    evs = {ev_key(e): e for e in sh.events()}
    assert set(evs) == {r.key for r in recs + after} | {(log.file(SMTP), off)}
    cut = evs[(log.file(SMTP), off)]
    assert ev_original(cut) == big[:64 * 1024]
    assert "truncated" in ev_flags(cut)
    for r in recs + after:
        assert ev_original(evs[r.key]) == r.original
        assert "truncated" not in ev_flags(evs[r.key])
    assert len(sh.events()) == 4


@pytest.mark.parametrize("size,cut", [(1023, False), (1024, False), (1025, True)],
                         ids=["max-1", "max", "max+1"])
def test_record_ceiling_limits(env, size, cut):
    """--max-record-bytes 1024: a record of 1023 and 1024 bytes is whole, one
    of 1025 is cut to 1024 and flagged; the record after it is whole."""
    sh, log = env.shim, env.log
    sh.start("--max-record-bytes", "1024", *FAST)
    head = f"{stamp(5)} [203.0.113.9][41200377] rsp: 250-"
    line = head + "Y" * (size - len(head))
    off = log.write(SMTP, line + "\r\n")
    # and once more with the ceiling reached by a continuation line
    lines = [f"{stamp(6)} [203.0.113.9][41200377] Exception: System.IO.IOException"]
    cont = "   at " + "Z" * (size - len(lines[0]) - 1 - 6)
    lines.append(cont)
    assert len("\n".join(lines)) == size
    moff = log.write(SMTP, "".join(l + "\r\n" for l in lines))
    after = log.append(SMTP, 1)
    sh.wait_events(after)
    assert sh.stop() == 0
    evs = {ev_key(e): e for e in sh.events()}
    assert set(evs) == {(log.file(SMTP), off), (log.file(SMTP), moff), after[0].key}
    for o, text in ((off, line), (moff, "\n".join(lines))):
        e = evs[(log.file(SMTP), o)]
        assert ev_original(e) == (text[:1024] if cut else text)
        assert ("truncated" in ev_flags(e)) == cut
    assert ev_original(evs[after[0].key]) == after[0].original
    assert len(sh.events()) == 3


# ---- 8. polling ------------------------------------------------------------------

def test_polling_picks_up_appends_and_new_files(env):
    sh, log = env.shim, env.log
    sh.start("--watch", "poll", "--poll-interval-ms", "200", *FAST)
    assert "polling every 200 ms" in sh.stderr()
    recs = log.append(SMTP, 3)
    sh.wait_events(recs, timeout=3)
    recs += log.append(SMTP, 2) + log.append(DELIVERY, 2)
    sh.wait_events(recs, timeout=3)
    recs += log.append(SMTP_NEXT_DAY, 1)
    sh.wait_events(recs, timeout=3)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


# ---- 9. quiet flush --------------------------------------------------------------

def test_last_record_emitted_after_quiet_time(env):
    sh, log = env.shim, env.log
    quiet = 1.0
    sh.start("--quiet-ms", str(int(quiet * 1000)))
    recs = log.append(SMTP, 2)
    t0 = time.monotonic()
    # the first record ends when the second starts: out at once, alone
    sh.wait_events(recs[:1], timeout=quiet * 0.8)
    assert recs[1].key not in sh.keys()
    sh.wait_events(recs, timeout=quiet + 3)
    waited = time.monotonic() - t0
    assert waited >= quiet - 0.01, f"the last record came after {waited:.3f} s, before the quiet time"
    assert sh.running()
    assert_same(sh.events(), recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


# ---- 10. kill -9 at random moments -------------------------------------------------

class Writer(threading.Thread):
    """Appends `total` records to `names`, in batches, with deterministic
    content: every record has a unique id, about one in 40 is an exception
    with continuation lines (one write), and about one in 7 is written in two
    write() calls with a short gap between them."""

    def __init__(self, log, names, total, seed, batch=40, pause_s=0.01):
        super().__init__(daemon=True)
        self.log, self.names, self.total = log, names, total
        self.rnd = random.Random(seed)
        self.lines = Lines()
        self.batch, self.pause_s = batch, pause_s
        self.recs = []
        self.begun = 0              # records whose first byte may be written
        self.written = 0            # records completely written so far
        self.error = None

    def run(self):
        fds = {n: os.open(self.log.file(n), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
               for n in self.names}
        size = {n: os.fstat(fd).st_size for n, fd in fds.items()}
        typ = {n: n.split("-", 1)[1][:-4] for n in self.names}
        try:
            for i in range(self.total):
                name = self.rnd.choice(self.names)
                lines = (self.lines.exception() if self.rnd.random() < 0.025
                         else self.lines.for_type(typ[name]))
                data = "".join(l + "\r\n" for l in lines).encode()
                self.begun = i + 1
                if self.rnd.random() < 0.14:
                    cut = self.rnd.randrange(1, len(data))
                    os.write(fds[name], data[:cut])
                    time.sleep(0.0005)      # pacing: leave half a line visible
                    os.write(fds[name], data[cut:])
                else:
                    os.write(fds[name], data)
                self.recs.append(Rec(self.log.file(name), size[name], "\n".join(lines)))
                size[name] += len(data)
                self.written = i + 1
                if (i + 1) % self.batch == 0:
                    time.sleep(self.pause_s)    # pacing, not waiting
        except BaseException as e:     # reported by the test
            self.error = e
        finally:
            for fd in fds.values():
                os.close(fd)


def records_below(recs, ckpt):
    """How many of recs lie wholly before their file's checkpoint offset."""
    n = 0
    for r in recs:
        off = ckpt.get(os.path.basename(r.path))
        if off is not None and r.offset < off:
            n += 1
    return n


def test_kill9_at_random_moments_loses_nothing(env):
    sh, log = env.shim, env.log
    seed = int(os.environ.get("CRASH_SEED", "1809"))     # to explore other runs
    rnd = random.Random(seed)
    names = [SMTP, DELIVERY, IMAP]
    args = ("--checkpoint-interval-ms", "50", "--quiet-ms", "100")
    sh.out.tolerate_torn = True     # a kill inside write() may leave half a line
    sh.start(*args)
    writer = Writer(log, names, total=20000, seed=seed)
    writer.start()
    kills = []      # per kill: output size, checkpoint, records written by then
    t_end = time.monotonic() + 40
    while (writer.is_alive() or len(kills) < 20) and len(kills) < 80:
        assert time.monotonic() < t_end, "the kill loop took too long"
        time.sleep(rnd.uniform(0.02, 0.25))     # a random moment, not a wait
        assert sh.running(), "the daemon died on its own:\n" + sh.stderr()
        sh.kill9()
        written = writer.begun      # nothing the daemon read can be newer
        size = os.path.getsize(env.out) if os.path.exists(env.out) else 0
        kills.append((size, sh.checkpoint(), written))
        sh.start(*args, wait_ready=False)
    writer.join(30)
    assert not writer.is_alive() and writer.error is None, writer.error
    recs = writer.recs
    assert len(recs) == 20000 and len(kills) >= 20
    sh.wait_events(recs, timeout=30)
    assert sh.stop() == 0
    events = sh.events()
    want = {r.key: r.original for r in recs}

    # no loss, nothing made up, every record intact
    got = defaultdict(int)
    for e in events:
        k = ev_key(e)
        assert k in want, f"an event that was never written: {k} {ev_original(e)[:200]!r}"
        assert ev_original(e) == want[k], f"record {k} came out changed: {ev_original(e)[:200]!r}"
        got[k] += 1
    assert set(got) == set(want)

    # a torn line only at the very end of a killed run's output
    sizes = [k[0] for k in kills]
    for start, end in sh.out.torn:
        assert end in sizes, f"a broken output line at bytes {start}..{end}, not at a kill"

    # per run, per file: offsets strictly increasing; run k+1 starts each file
    # exactly where the checkpoint left by kill k points (0 if it had none)
    runs = defaultdict(lambda: defaultdict(list))
    for pos, e in zip(sh.out.starts, events):
        run = bisect.bisect_right(sizes, pos)
        path, off = ev_key(e)
        runs[run][path].append(off)
    for run, files in runs.items():
        for path, offs in files.items():
            assert all(a < b for a, b in zip(offs, offs[1:])), \
                f"run {run}: {os.path.basename(path)} went back within the run"
            if run > 0:
                resume = kills[run - 1][1].get(os.path.basename(path), 0)
                assert offs[0] == resume, (f"run {run}: {os.path.basename(path)} started at "
                                           f"{offs[0]}, the checkpoint said {resume}")

    # Duplicates come only from re-reading after a kill: run k+1 re-emits
    # what run k emitted past the checkpoint it left. A run cannot emit a
    # record that was not written yet, and never re-reads what lies before
    # its checkpoint, so kill k accounts for at most (records written by
    # then) - (records before that checkpoint). That bound is sound whatever
    # the machine's speed; a checkpoint that lags by seconds still passes it,
    # so the resume check above (exactly at the checkpoint) and the count
    # below, reported for a human, carry the rest.
    dups = len(events) - len(want)
    bound = sum(written - records_below(recs, ckpt) for _, ckpt, written in kills)
    print(f"seed={seed} kills={len(kills)} events={len(events)} records={len(want)} "
          f"duplicates={dups} bound={bound} torn_lines={len(sh.out.torn)}")
    assert dups <= bound


def test_output_ending_in_a_torn_line(env):
    """kill -9 inside write() can leave the output file ending in half a
    line. The next start must begin on a line of its own, or its first event
    is glued to the torn one and lost."""
    sh, log = env.shim, env.log
    with open(env.out, "wb") as f:
        f.write(b'{"@timestamp":"2026-09-18T08:00:00.000Z","event":{"orig')
    sh.out.tolerate_torn = True
    sh.start(*FAST)
    recs = log.append(SMTP, 2)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)
    assert len(sh.out.torn) == 1


# ---- 11. SIGTERM under load ----------------------------------------------------------

def test_sigterm_under_load_no_loss_no_duplicates(env):
    sh, log = env.shim, env.log
    sh.start(*FAST)
    writer = Writer(log, [SMTP, DELIVERY], total=6000, seed=11, batch=20, pause_s=0.005)
    writer.start()
    wait_for(lambda: writer.written >= 1500, "the writer to get going")
    assert sh.stop() == 0
    assert writer.is_alive(), "the writer finished before the stop: make it slower"
    sh.start(*FAST)
    writer.join(30)
    assert not writer.is_alive() and writer.error is None, writer.error
    sh.wait_events(writer.recs, timeout=20)
    assert sh.stop() == 0
    assert_same(sh.events(), writer.recs)


# ---- SIGHUP: the output is reopened (after logrotate renamed it) ----------------

def test_sighup_reopens_the_output(env):
    sh, log = env.shim, env.log
    sh.start(*FAST)
    before = log.append(SMTP, 2)
    sh.wait_events(before)
    os.rename(env.out, env.out + ".1")
    sh.signal(signal.SIGHUP)
    sh.wait_stderr(r"SIGHUP: outputs reopened", "the reopen")
    sh.out = Output(env.out)
    after = log.append(SMTP, 2)
    sh.wait_events(after)
    assert sh.stop() == 0
    assert_same(sh.events(), after)
    rotated = Output(env.out + ".1")
    assert_same(rotated.poll(), before)
    # the reload rebuilt what each event takes from the mappings and options
    for e in rotated.events + sh.events():
        assert e["smartermail"]["log_type"] == "smtp"
        assert e["event"]["dataset"] == "smartermail.smtp"
        assert e["host"]["name"] == "test-host"


# ---- 12. missing log directory ---------------------------------------------------------

def test_missing_log_dir_waited_for(env):
    sh = env.shim
    logs = os.path.join(env.tmp, "mnt", "Logs")
    sh.start("--poll-interval-ms", "100", *FAST, logs=logs)
    sh.wait_stderr(re.escape(logs) + r": no such directory; waiting for it",
                   "the missing directory reported")
    assert sh.events() == []
    os.makedirs(logs)
    log = LogDir(logs)
    recs = log.append(SMTP, 3)
    sh.wait_events(recs)
    assert "found the log directory" in sh.stderr()
    recs += log.append(SMTP, 2) + log.append(DELIVERY, 1)
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert_same(sh.events(), recs)


# ---- 13. config file ------------------------------------------------------------------

def write_config(env, body):
    path = os.path.join(env.tmp, "shim.conf")
    with open(path, "w") as f:
        f.write(body)
    return path


def test_config_file(env):
    sh, log = env.shim, env.log
    other = os.path.join(env.tmp, "not-used.jsonl")
    cfg = write_config(env, f"""# smartermail-shim settings
logs = {env.logs}
state = "{env.state}"
output = file:{other}
from = beginning      # read what is there already
quiet-ms = 200
timezone = Etc/UTC
""")
    old = log.append(SMTP, 2)
    # the command line overrides the file
    sh.start("--config", cfg, "--output", "file:" + env.out, config_only=True)
    new = log.append(SMTP, 2) + log.append(DELIVERY, 1)
    sh.wait_events(old + new)
    assert sh.stop() == 0
    assert_same(sh.events(), old + new)
    assert not os.path.exists(other)
    assert os.path.exists(os.path.join(env.state, "checkpoint.json"))


@pytest.mark.parametrize("line,key,text", [
    ("colour = blue", "colour", "unknown key"),
    ("poll-interval-ms = fast", "poll-interval-ms", "is not a whole number"),
    ("from = middle", "from", "is not one of auto|end|beginning"),
    ("watch = fanotify", "watch", "is not one of"),
    ("max-record-bytes = lots", "max-record-bytes", ""),
])
def test_config_errors_exit_2(env, line, key, text):
    sh = env.shim
    cfg = write_config(env, f"logs = {env.logs}\nstate = {env.state}\n{line}\n")
    sh.start("--config", cfg, config_only=True, wait_ready=False)
    assert sh.wait_exit() == 2
    assert re.search(f"{re.escape(cfg)}:3: {re.escape(key)}: .*{re.escape(text)}",
                     sh.stderr()), sh.stderr()
    assert not os.path.exists(os.path.join(env.state, "checkpoint.json"))


def test_config_reports_every_error(env):
    sh = env.shim
    cfg = write_config(env, f"colour = blue\nlogs = {env.logs}\nquiet-ms = -1\n"
                            "no equals sign here\n")
    sh.start("--config", cfg, config_only=True, wait_ready=False)
    assert sh.wait_exit() == 2
    err = sh.stderr()
    assert f"{cfg}:1: colour: unknown key" in err
    assert f"{cfg}:3: quiet-ms: " in err
    assert f"{cfg}:4: expected key = value" in err


def test_output_settings_exit_2_before_connecting(env):
    """The outputs' settings are checked before any output opens: a bad
    Kafka property stops run with status 2 naming its line, and the syslog
    receiver before it (a listening socket) sees no connection."""
    sh = env.shim
    with socket.socket() as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.listen()
        receiver.setblocking(False)
        port = receiver.getsockname()[1]
        cfg = write_config(env, f"logs = {env.logs}\nstate = {env.state}\n"
                                f"output = syslog,kafka\nsyslog-target = tcp://127.0.0.1:{port}\n"
                                "kafka.no.such.property = 1\n")
        sh.start("--config", cfg, config_only=True, wait_ready=False)
        assert sh.wait_exit() == 2
        assert (f'{cfg}:5: kafka.no.such.property: No such configuration property: '
                f'"no.such.property"') in sh.stderr(), sh.stderr()
        with pytest.raises(BlockingIOError):
            receiver.accept()
    assert not os.path.exists(os.path.join(env.state, "checkpoint.json"))


@pytest.mark.parametrize("value,ok", [("49", False), ("50", True), ("51", True),
                                      ("3599999", True), ("3600000", True),
                                      ("3600001", False)])
def test_config_poll_interval_limits(env, value, ok):
    """poll-interval-ms runs from 50 to 3600000: min-1, min, min+1, max-1,
    max and max+1."""
    sh = env.shim
    cfg = write_config(env, f"logs = {env.logs}\nstate = {env.state}\n"
                            f"output = file:{env.out}\npoll-interval-ms = {value}\n")
    sh.start("--config", cfg, config_only=True, wait_ready=ok)
    if ok:
        assert sh.stop() == 0
    else:
        assert sh.wait_exit() == 2
        assert f"{cfg}:4: poll-interval-ms: {value} is out of range (50 to 3600000)" \
            in sh.stderr()


def test_refuses_root_without_allow_root(env):
    """run as root without --allow-root exits 2 and says why; with it, it
    runs (every other test passes --allow-root, since the suite is root)."""
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    p = subprocess.run([env.shim.bin, "run", "--logs", env.logs, "--state", env.state,
                        "--output", "file:" + env.out],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "refusing to run as root" in p.stderr
    assert not os.path.exists(env.out)


def mapped_libs(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(l.split()[-1]) for l in f if "/" in l and ".so" in l}


def test_output_libraries_loaded_only_when_used(env):
    """librelp (with GnuTLS behind it) and librdkafka are loaded when an
    output needs them: a daemon writing to a file maps neither; a relp://
    target maps librelp and not librdkafka; a kafka output maps librdkafka."""
    env.log.append(SMTP, 2)
    sh = env.shim
    cases = [((), set()),
             (("--output", "syslog", "--syslog-target", "relp://127.0.0.1:9"), {"librelp"}),
             (("--output", "kafka", "--kafka-brokers", "127.0.0.1:9"), {"librdkafka"})]
    for args, want in cases:
        sh.start("--from", "beginning", *args)
        libs = mapped_libs(sh.proc.pid)
        assert sh.stop() == 0, sh.stderr()
        for name in ("librelp", "librdkafka", "libgnutls"):
            loaded = any(l.startswith(name + ".so") for l in libs)
            expect = name in want or (name == "libgnutls" and "librelp" in want)
            assert loaded == expect, f"{args}: {name} {'' if loaded else 'not '}mapped: {sorted(libs)}"
