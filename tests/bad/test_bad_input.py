# SPDX-License-Identifier: MIT
"""Hostile input through `smartermail-shim parse`: random bytes (seeded),
NULs, 10 MB lines, files of only continuation lines, every kind of invalid
UTF-8, impossible time stamps, bracket soup and very long bracket groups,
lines of only blanks. Each input is written as YYYY.MM.DD-<type>.log and
parsed; the run must exit 0 and write valid UTF-8, one JSON object per
line, and lose nothing:

- each record event's log.offset is the start of a non-empty input line,
  the first one is the first such line, and the lines from one event's
  offset to the next are that event's record: it starts at a line with a
  time stamp (only the first record may not) and every other line of it
  has none (docs/parsing.md, "Bytes and records");
- its event.original is exactly those lines joined with '\\n' (read the way
  docs/parsing.md says the output is written: each byte that is not part
  of a valid UTF-8 sequence is U+FFFD), unless the record is longer than
  --max-record-bytes: then it is flagged truncated and event.original is
  those bytes cut at the ceiling, moved back before a character that the
  ceiling would split.

So every non-empty line's bytes appear in some event's event.original, or
a prefix of them does in an event flagged truncated.

    /usr/bin/python3 -m pytest -q tests/bad
    SHIM=path/to/smartermail-shim /usr/bin/python3 -m pytest -q tests/bad

The inputs are made here, from fixed seeds: nothing to keep in the
repository, and a failure names the case and its seed."""

import json
import os
import random
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_MAX = 64 * 1024
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="session")
def shim_bin():
    """$SHIM, else ./smartermail-shim (built with make when missing)."""
    path = os.environ.get("SHIM")
    if path:
        return os.path.abspath(path)
    path = os.path.join(REPO, "smartermail-shim")
    if not os.path.exists(path):
        r = subprocess.run(["make", "-s", "smartermail-shim"], cwd=REPO,
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail("make failed:\n" + r.stdout + r.stderr)
    return path


# ---- what the shim promises, as docs/parsing.md states it ------------------

def utf8_seq(b, i):
    """Length of the valid UTF-8 sequence at b[i] (b[i] >= 0x80), or 0:
    no overlong forms, no surrogates, nothing past U+10FFFF."""
    c = b[i]
    lo, hi = 0x80, 0xBF
    if 0xC2 <= c <= 0xDF:
        n = 2
    elif 0xE0 <= c <= 0xEF:
        n = 3
        if c == 0xE0:
            lo = 0xA0
        elif c == 0xED:
            hi = 0x9F
    elif 0xF0 <= c <= 0xF4:
        n = 4
        if c == 0xF0:
            lo = 0x90
        elif c == 0xF4:
            hi = 0x8F
    else:
        return 0
    if i + n > len(b) or not lo <= b[i + 1] <= hi:
        return 0
    if any(b[k] & 0xC0 != 0x80 for k in range(i + 2, i + n)):
        return 0
    return n


def as_output_text(b):
    """The text the shim writes for the bytes b: valid UTF-8 as it is, and
    U+FFFD for each byte that is not part of a valid sequence."""
    if b.isascii():
        return b.decode("ascii")
    out, i, run = [], 0, 0
    while i < len(b):
        if b[i] < 0x80:
            i += 1
            continue
        n = utf8_seq(b, i)
        if n:
            i += n
            continue
        out.append(b[run:i].decode("utf-8"))
        out.append("\ufffd")
        i += 1
        run = i
    out.append(b[run:].decode("utf-8"))
    return "".join(out)


def _digits(b):
    return len(b) > 0 and all(0x30 <= c <= 0x39 for c in b)


def has_stamp(line):
    """Whether a line starts a record: "HH:MM:SS[.f] " or "[YYYY.MM.DD]
    HH:MM:SS[.f] " by shape (impossible values still count), the fraction at
    most 9 digits, and a blank or the end of the line after it."""
    i = 0
    if line[:1] == b"[":
        d = line[1:11]
        if len(line) < 13 or line[11:13] != b"] " or not (
                _digits(d[0:4]) and d[4:5] == b"." and _digits(d[5:7]) and
                d[7:8] == b"." and _digits(d[8:10])):
            return False
        i = 13
    c = line[i:i + 8]
    if not (len(c) == 8 and _digits(c[0:2]) and c[2:3] == b":" and _digits(c[3:5]) and
            c[5:6] == b":" and _digits(c[6:8])):
        return False
    i += 8
    if line[i:i + 1] == b"." and _digits(line[i + 1:i + 2]):
        j = i + 1
        while j < len(line) and 0x30 <= line[j] <= 0x39:
            j += 1
        if j - (i + 1) > 9:
            return False
        i = j
    return i == len(line) or line[i:i + 1] in (b" ", b"\t")


def cut_at(lines, max_bytes):
    """A record's lines joined with '\\n' as the ceiling leaves them: each
    piece (a line, or the '\\n' before it) is kept while it fits; the one
    that does not is cut at the ceiling, moved back over at most 3
    continuation bytes so that no character is split (docs/parsing.md),
    and nothing after it is kept."""
    out = b""
    for i, line in enumerate(lines):
        for piece in ((b"\n", line) if i else (line,)):
            room = max_bytes - len(out)
            if len(piece) <= room:
                out += piece
                continue
            k = room
            for _ in range(3):
                if k > 0 and piece[k] & 0xC0 == 0x80:
                    k -= 1
            return out + piece[:k]
    return out


def input_lines(data):
    """(offset, bytes) of every line that carries something: split on LF, one
    CR before it and a BOM at offset 0 removed, empty lines left out."""
    lines, s = [], 0
    while s < len(data):
        nl = data.find(b"\n", s)
        e = len(data) if nl < 0 else nl
        off, line = s, data[s:e]
        if line.endswith(b"\r"):
            line = line[:-1]
        if off == 0 and line.startswith(BOM):
            off, line = 3, line[3:]
        if line:
            lines.append((off, line))
        s = e + 1
    return lines


def field(ev, name):
    """A field of an event in any encoding: ECS nests, flat keeps the dotted
    name, GELF writes _a_b (arrays joined with ',')."""
    if name in ev:
        return ev[name]
    if "_" + name.replace(".", "_") in ev:
        return ev["_" + name.replace(".", "_")]
    v = ev
    for seg in name.split("."):
        if not isinstance(v, dict) or seg not in v:
            return None
        v = v[seg]
    return v


def flagged_truncated(ev):
    flags = field(ev, "log.flags") or []
    if isinstance(flags, str):
        flags = flags.split(",")
    return "truncated" in flags


# ---- running it ------------------------------------------------------------

def parse(shim_bin, tmp_path, name, data, args=()):
    path = tmp_path / name
    path.write_bytes(data)
    cmd = [shim_bin, "parse", "--timezone", "America/Chicago", "--host-name", "mail01",
           "--mappings", os.path.join(REPO, "mappings"), *args, str(path)]
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    err = r.stderr.decode("utf-8", "replace")[-2000:]
    assert r.returncode == 0, f"exit {r.returncode}: {err}"
    try:
        text = r.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        pytest.fail(f"the output is not valid UTF-8 at byte {e.start}")
    assert text == "" or text.endswith("\n"), "the last event has no newline"
    events = []
    for i, line in enumerate(text.split("\n")[:-1]):
        try:
            ev = json.loads(line)
        except ValueError as e:
            pytest.fail(f"output line {i + 1} is not JSON ({e}): {line[:300]!r}")
        assert isinstance(ev, dict), f"output line {i + 1} is not an object"
        events.append(ev)
    return events


def check_nothing_lost(data, events, max_bytes):
    """Every non-empty input line is in exactly the record event the
    offsets say, whole or (flagged truncated) cut at the ceiling."""
    lines = input_lines(data)
    # record events carry log.offset; summaries do not
    recs = [ev for ev in events if field(ev, "log.offset") is not None]
    starts = {off: i for i, (off, _) in enumerate(lines)}
    offsets = [field(ev, "log.offset") for ev in recs]
    assert offsets == sorted(set(offsets)), "record offsets are not increasing"
    if not lines:
        assert not recs, "events from an input without a line"
        return
    assert recs, f"{len(lines)} lines and no event"
    assert offsets[0] == lines[0][0], (
        f"the first line (offset {lines[0][0]}) is in no event: the first event starts "
        f"at {offsets[0]}")
    for k, (ev, off) in enumerate(zip(recs, offsets)):
        assert off in starts, f"event {k}: log.offset {off} is not the start of a line"
        first = starts[off]
        last = starts[offsets[k + 1]] if k + 1 < len(offsets) else len(lines)
        if k > 0 and not has_stamp(lines[first][1]):
            pytest.fail(f"event {k} starts at offset {off}, a line without a time stamp")
        for o, line in lines[first + 1:last]:
            if has_stamp(line):
                pytest.fail(f"the line at offset {o} has a time stamp but starts no event "
                            f"(it is inside event {k}, offset {off}): {line[:100]!r}")
        rec_lines = [line for _, line in lines[first:last]]
        want = b"\n".join(rec_lines)
        got = field(ev, "event.original")
        assert got is not None, f"event {k} (offset {off}) has no event.original"
        truncated = flagged_truncated(ev)
        where = f"event {k} (offset {off}, lines {first + 1}-{last})"
        assert truncated == (len(want) > max_bytes), (
            f"{where}: {len(want)} bytes, flagged truncated: {truncated} "
            f"(ceiling {max_bytes})")
        if not truncated:
            if got != as_output_text(want):
                pytest.fail(f"{where}: event.original is not its lines:\n"
                            f"  want {as_output_text(want)[:300]!r}\n  got  {got[:300]!r}")
        elif got != as_output_text(cut_at(rec_lines, max_bytes)):
            pytest.fail(f"{where}: event.original ({len(got)} characters) is not its "
                        f"lines cut at the ceiling of {max_bytes} bytes")


# ---- the inputs ------------------------------------------------------------

def stamp(rnd):
    return b"%02d:%02d:%02d.%03d " % (rnd.randrange(24), rnd.randrange(60),
                                       rnd.randrange(60), rnd.randrange(1000))


def random_bytes(seed, n=256 * 1024):
    return random.Random(seed).randbytes(n)


def random_records(seed, n=3000):
    """Lines that start records, continuation lines and blank lines, all
    with random bytes (CR, NUL, '[' and high bytes more often than chance)."""
    rnd = random.Random(seed)
    alphabet = b"\x00\r\t [].:0123456789\x80\xbf\xc3\xe2\xed\xf0\xf4\xff" + bytes(range(32, 127))
    out = []
    for _ in range(n):
        body = bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 200)))
        body = body.replace(b"\n", b"")
        kind = rnd.random()
        if kind < 0.6:
            out.append(stamp(rnd) + body)
        elif kind < 0.75:
            out.append(b"[2026.09.%02d] " % rnd.randrange(1, 40) + stamp(rnd) + body)
        elif kind < 0.9:
            out.append(rnd.choice([b"   at ", b"\t", b" "]) + body)
        else:
            out.append(rnd.choice([b"", b"\r", b" ", b"\t\t"]))
    return b"\r\n".join(out) if seed % 2 else b"\n".join(out)


def nuls():
    return (b"12:00:00.000 [192.0.2.1][100] cmd: EHLO a\x00b\x00c\n"
            b"\x00\x00\x00\n"
            b"12:00:01.000 \x00\n"
            b"12:00\x00:02.000 NUL inside the stamp\n"
            b"\x0012:00:03.000 NUL before the stamp\n"
            b"12:00:04.000 [\x00][1.2.3.4\x00] nul in brackets\n"
            b"   at \x00continuation\x00\n"
            b"12:00:05.000 \x00\x00\x00" + b"\x00" * 5000 + b"\n"
            b"12:00:06.000 last, no newline\x00")


def only_nuls():
    return b"\x00" * 65536


def huge_line(head, fill, tail=b"\n12:00:01.000 next\n", size=10 * 1024 * 1024):
    body = (fill * (size // len(fill) + 1))[:size]
    return head + body + tail


def only_continuations(crlf=False):
    eol = b"\r\n" if crlf else b"\n"
    rnd = random.Random(7)
    lines = []
    for i in range(2000):
        lines.append(rnd.choice([b"   at Smartermail.Core.Type%d.Method(String s)" % i,
                                 b"\tBrute force attempts increased to %d" % i,
                                 b" ", b"\t", b"--- End of inner exception stack trace ---"]))
    return eol.join(lines) + eol


INVALID_UTF8 = [
    (b"\xc0\x80", "overlong NUL"), (b"\xc1\xbf", "overlong 2-byte"),
    (b"\xe0\x80\x80", "overlong 3-byte"), (b"\xe0\x9f\xbf", "overlong 3-byte, top"),
    (b"\xf0\x80\x80\x80", "overlong 4-byte"), (b"\xf0\x8f\xbf\xbf", "overlong 4-byte, top"),
    (b"\xed\xa0\x80", "surrogate D800"), (b"\xed\xbf\xbf", "surrogate DFFF"),
    (b"\xed\xa0\xbd\xed\xb8\x80", "CESU-8 pair"),
    (b"\xf4\x90\x80\x80", "past U+10FFFF"), (b"\xf5\x80\x80\x80", "lead F5"),
    (b"\xf7\xbf\xbf\xbf", "lead F7"), (b"\xf8\x88\x80\x80\x80", "5-byte form"),
    (b"\xfc\x84\x80\x80\x80\x80", "6-byte form"), (b"\xfe", "FE"), (b"\xff", "FF"),
    (b"\xfe\xff", "UTF-16 BOM BE"), (b"\xff\xfe", "UTF-16 BOM LE"),
    (b"\x80", "stray continuation"), (b"\xbf\x80\xbf\x80", "stray continuations"),
    (b"\xc3", "lone 2-byte lead"), (b"\xe2\x82", "3-byte cut after 2"),
    (b"\xf0\x9f\x98", "4-byte cut after 3"), (b"\xc3 \xa9", "lead, space, continuation"),
    (b"\xe2\x82\xac\x80", "valid euro then stray"), (b"\xc3\xa9\xe9\x00", "latin-1 after UTF-8"),
    (b"\xef\xbb\xbf", "BOM inside a line"), (b"\xef\xbf\xbe\xef\xbf\xbf", "U+FFFE U+FFFF"),
    (b"\xf4\x8f\xbf\xbf", "U+10FFFF (valid)"), (b"\xe2\x80\xa8\xe2\x80\xa9", "U+2028 U+2029"),
]


def invalid_utf8():
    out = [BOM + b"\xc3\x28 after a BOM"]
    for i, (seq, what) in enumerate(INVALID_UTF8):
        what = what.encode()
        out.append(b"12:00:%02d.000 [192.0.2.1][%d] %s: <%s>" % (i % 60, i, what, seq))
        out.append(b"   at <%s> in a continuation" % seq)
        out.append(b"12:01:%02d.000 [%s][%s] in brackets" % (i % 60, seq, seq))
        out.append(b"12:02:%02d.000 %s" % (i % 60, seq * 40))
    out.append(b"12:03:00.000 a sequence cut by the line end \xe2\x82")
    out.append(b"\xe2\r")
    return b"\n".join(out) + b"\n12:04:00.000 ends inside a sequence \xf0\x9f"


def absurd_timestamps():
    stamps = [b"25:61:61.000", b"99:99:99.999", b"24:00:00.000", b"23:59:60.000",
              b"00:00:00.000", b"23:59:59.999", b"12:00:00.1234567", b"12:00:00.",
              b"12:00:00", b"12:00", b"-1:00:00.000", b"1:2:3.4", b"12:00:00.000.000",
              b"[9999.99.99] 12:00:00.000", b"[0000.00.00] 00:00:00.000",
              b"[9999.12.31] 23:59:59.999", b"[1970.01.01] 00:00:00.000",
              b"[1969.12.31] 23:59:59.999", b"[2026.02.29] 12:00:00", b"[2024.02.29] 12:00:00",
              b"[2026.13.45] 12:00:00", b"[2026.00.00] 25:61:61.000", b"[10000.01.01] 12:00:00",
              b"[2026.1.1] 12:00:00", b"[2026.09.18]12:00:00", b"[2026.09.18] ", b"[]",
              b"[2026.09.18] 12:00:00.000 [2026.09.18] 12:00:00.000"]
    out = []
    for i, s in enumerate(stamps):
        out.append(s + b" [192.0.2.%d][%d] absurd time stamp %d" % (i, i, i))
        out.append(s)
    # the time of day falls back by more than 12 hours again and again:
    # the date moves forward a day each time
    for i in range(400):
        out.append(b"23:00:00.000 [203.0.113.1][1] day %d ends" % i)
        out.append(b"01:00:00.000 [203.0.113.1][1] day %d begins" % (i + 1))
    return b"\n".join(out) + b"\n"


def bracket_soup():
    groups = [b"[[[]]][][1.2.3.4][", b"[", b"]", b"]]]]", b"[[[[", b"[1.2.3.4",
              b"1.2.3.4]", b"[][]", b"[ ]", b"[::1]", b"[::ffff:1.2.3.4]", b"[999.999.999.999]",
              b"[1.2.3.4.5]", b"[01.02.03.04]", b"[fe80::1%eth0]", b"[1.2.3.4][5.6.7.8]"
              b"[9.9.9.9][1.1.1.1][2.2.2.2][3.3.3.3]", b"[Tag] [1.2.3.4] [ID-1]",
              b"[a]b[c]", b"[\xff]", b"[\xc3\xa9]", b"[ab\x00cd]", b"[12345678901234567890]",
              b"[-]", b"[_]", b"[Tag", b"[1.2.3.4][", b"[[1.2.3.4]]", b"[1.2.3.4]]",
              b"[][1.2.3.4][]"]
    out = []
    for i, g in enumerate(groups):
        out.append(b"12:00:%02d.000 %s rest of the line" % (i % 60, g))
        out.append(b"12:01:%02d.000 %s" % (i % 60, g))
        out.append(b"12:02:%02d.000 [192.0.2.1]%s[42] cmd: EHLO %s" % (i % 60, g, g))
    return b"\n".join(out) + b"\n"


def long_brackets():
    rnd = random.Random(11)
    letters = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(100000))
    return b"\n".join([
        b"12:00:00.000 [" + letters + b"] one long group",
        b"12:00:01.000 [" + b"1." * 50000 + b"1] a long address",
        b"12:00:02.000 " + b"[" * 20000 + b"]" * 20000 + b" nested",
        b"12:00:03.000 " + b"[1.2.3.4]" * 20000 + b" many groups",
        b"12:00:04.000 " + b"[" * 70000,
        b"12:00:05.000 [" + b"\xc3\xa9" * 40000 + b"]",
        b"12:00:06.000 [" + letters[:60000],
        b"12:00:07.000 after them",
    ]) + b"\n"


def blank_lines():
    return (b"   \n\t\t\n \t \n"
            b"12:00:00.000 [192.0.2.1][1] first\n"
            b"        \n\t\n \r\n\t\r\n\r\n\n"
            b"12:00:01.000 [192.0.2.1][1] second\n"
            b"\x0b\x0c\n \x0b \n"
            b"12:00:02.000 \n12:00:03.000\t\n12:00:04.000          \n"
            + b" " * 100000 + b"\n" + b"\t" * 100000 + b"\n"
            b"12:00:05.000 last\n   ")


# name, the bytes, the log type in the file name, extra options
CASES = [
    ("random-bytes-seed-1", lambda: random_bytes(1), "smtpLog", ()),
    ("random-bytes-seed-2", lambda: random_bytes(2), "smtpLog", ()),
    ("random-bytes-seed-3-ceiling-256", lambda: random_bytes(3), "smtpLog",
     ("--max-record-bytes", "256")),
    ("random-records-seed-4", lambda: random_records(4), "smtpLog", ()),
    ("random-records-seed-5-crlf", lambda: random_records(5), "smtpLog", ()),
    ("random-records-seed-6-ceiling-256", lambda: random_records(6), "smtpLog",
     ("--max-record-bytes", "256")),
    ("random-records-seed-8-delivery", lambda: random_records(8), "delivery", ()),
    ("random-records-seed-9-imap", lambda: random_records(9), "imapLog", ()),
    ("random-records-seed-10-pop", lambda: random_records(10), "popLog", ()),
    ("random-records-seed-12-admin", lambda: random_records(12), "administrative", ()),
    ("random-records-seed-14-generic", lambda: random_records(14), "generalErrors", ()),
    ("random-records-seed-16-flat", lambda: random_records(16), "smtpLog",
     ("--encoding", "flat")),
    ("random-records-seed-18-gelf", lambda: random_records(18), "smtpLog",
     ("--encoding", "gelf")),
    ("nuls", nuls, "smtpLog", ()),
    ("only-nuls", only_nuls, "smtpLog", ()),
    ("10mb-line", lambda: huge_line(b"12:00:00.000 [192.0.2.1][1] cmd: ", b"abcdefghij"),
     "smtpLog", ()),
    ("10mb-line-2-byte-chars", lambda: huge_line(b"12:00:00.000 ", b"\xc3\xa9"), "smtpLog", ()),
    ("10mb-line-4-byte-chars", lambda: huge_line(b"12:00:00.000 x", b"\xf0\x9f\x98\x80"),
     "smtpLog", ()),
    ("10mb-line-without-stamp", lambda: huge_line(b"", b"no stamp "), "smtpLog", ()),
    ("10mb-line-without-newline", lambda: huge_line(b"12:00:00.000 ", b"z", tail=b""),
     "smtpLog", ()),
    ("10mb-continuation", lambda: huge_line(b"12:00:00.000 start\n   at ", b"q"), "smtpLog", ()),
    ("only-continuation-lines", only_continuations, "smtpLog", ()),
    ("only-continuation-lines-crlf", lambda: only_continuations(True), "smtpLog", ()),
    ("only-continuation-lines-ceiling-256", only_continuations, "smtpLog",
     ("--max-record-bytes", "256")),
    ("invalid-utf8", invalid_utf8, "smtpLog", ()),
    ("invalid-utf8-ceiling-256", invalid_utf8, "smtpLog", ("--max-record-bytes", "256")),
    ("invalid-utf8-flat", invalid_utf8, "smtpLog", ("--encoding", "flat")),
    ("invalid-utf8-gelf", invalid_utf8, "smtpLog", ("--encoding", "gelf")),
    ("absurd-timestamps", absurd_timestamps, "smtpLog", ()),
    ("bracket-soup", bracket_soup, "smtpLog", ()),
    ("bracket-soup-imap", bracket_soup, "imapLog", ()),
    ("long-bracket-groups", long_brackets, "smtpLog", ()),
    ("blank-lines", blank_lines, "smtpLog", ()),
    ("empty-lines-only", lambda: b"\n\r\n\n" * 1000, "smtpLog", ()),
    ("empty-file", lambda: b"", "smtpLog", ()),
    ("bom-only", lambda: BOM, "smtpLog", ()),
    ("cr-only-line-ends", lambda: b"12:00:00.000 a\r12:00:01.000 b\r" * 1000, "smtpLog", ()),
]


@pytest.mark.parametrize("name,make,log_type,args", CASES, ids=[c[0] for c in CASES])
def test_bad_input(shim_bin, tmp_path, name, make, log_type, args):
    data = make()
    events = parse(shim_bin, tmp_path, f"2026.09.18-{log_type}.log", data, args)
    max_bytes = int(args[args.index("--max-record-bytes") + 1]) \
        if "--max-record-bytes" in args else DEFAULT_MAX
    check_nothing_lost(data, events, max_bytes)


def test_far_future_date(shim_bin, tmp_path):
    """A file dated 9999.12.31 that runs past midnight: the date moves past
    the year 9999, and viewer stamps of that day convert to UTC past it."""
    data = (b"23:00:00.000 [192.0.2.1][1] last day\n"
            b"01:00:00.000 [192.0.2.1][1] the day after\n"
            b"[9999.12.31] 23:59:59.999 viewer stamp, late in the last day\n") * 3
    events = parse(shim_bin, tmp_path, "9999.12.31-smtpLog.log", data)
    check_nothing_lost(data, events, DEFAULT_MAX)
    for ev in events:
        ts = ev["@timestamp"]
        assert len(ts) == 24 and ts.endswith("Z"), ts


def test_reference_rules():
    """The reference itself: one U+FFFD per byte of a broken sequence."""
    assert as_output_text(b"a\xe2\x82b") == "a\ufffd\ufffdb"
    assert as_output_text(b"\xed\xa0\x80") == "\ufffd" * 3
    assert as_output_text("é€😀".encode()) == "é€😀"
    assert as_output_text(b"\xf4\x90\x80\x80") == "\ufffd" * 4
    assert input_lines(BOM + b"a\r\n\r\n b\r\r\n") == [(3, b"a"), (8, b" b\r")]
    assert has_stamp(b"12:00:00.000 x") and has_stamp(b"25:61:61") and \
        has_stamp(b"[9999.99.99] 12:00:00.123456789\tx")
    assert not has_stamp(b"12:00:00.1234567890 x") and not has_stamp(b"12:00:00x") and \
        not has_stamp(b"[2026.1.1] 12:00:00") and not has_stamp(b" 12:00:00")
    assert cut_at([b"ab\xc3\xa9"], 3) == b"ab"
    assert cut_at([b"abc\x80\x80\x80\x80"], 6) == b"abc"
    assert cut_at([b"ab", b"\x80\x80\x80"], 4) == b"ab\n"
