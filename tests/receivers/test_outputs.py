# SPDX-License-Identifier: MIT
"""The journald and syslog outputs against real receivers: a standalone
systemd-journald and a standalone rsyslogd (the harnesses beside this file).

What a receiver stored is compared field by field with what `parse` makes of
the same files; outages are real (the receiver process is stopped and
started) while records keep being appended, and the checkpoint is checked
against what the receiver had really stored at that moment.

Run: /usr/bin/python3 -m pytest -q tests/receivers   (as root)"""

import os
import re
import signal
import shutil
import time
from collections import Counter

import pytest

from benchutil import proc_status_kib
from conftest import (SAMPLES, Rsyslog, Writer, catalog_ids, ev_key, hold, parse_events,
                      wait_for)

OUTAGE_S = 10.0


# ---- helpers ----------------------------------------------------------------

def copy_samples(logs):
    names = sorted(n for n in os.listdir(SAMPLES) if n.endswith(".log"))
    for n in names:
        shutil.copy(os.path.join(SAMPLES, n), os.path.join(logs, n))
    return [os.path.join(logs, n) for n in names]


def flatten(obj, prefix=""):
    """Nested ECS -> {dotted name: value}; arrays stay lists."""
    out = {}
    for k, v in obj.items():
        name = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


def journal_name(ecs):
    """events.md: upper case, [A-Z0-9_], dots -> '_', no leading '_' or
    digit, at most 64 characters."""
    out = ""
    for c in ecs:
        c = c.upper() if "a" <= c <= "z" else c
        if not ("A" <= c <= "Z" or "0" <= c <= "9"):
            c = "_"
        if not out and (c == "_" or c.isdigit()):
            continue
        out += c
    return out[:64]


def jvalue(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def expected_journal(ev):
    """{journald field: sorted distinct values} that the entry of ev must
    carry, apart from MESSAGE_ID (checked against the catalog) and
    journald's own fields."""
    exp = {}
    for k, v in flatten(ev).items():
        if k in ("@timestamp", "event.severity"):
            continue
        for x in (v if isinstance(v, list) else [v]):
            exp.setdefault(journal_name(k), set()).add(jvalue(x))
    exp["PRIORITY"] = {str(ev["event"]["severity"])}
    exp["SMARTERMAIL_TIMESTAMP"] = {ev["@timestamp"]}
    exp["SYSLOG_IDENTIFIER"] = {"smartermail"}
    exp["SYSLOG_FACILITY"] = {"2"}
    return {k: sorted(v) for k, v in exp.items()}


def entry_values(v):
    """journalctl -o json: a string, a list for a repeated field, a list of
    byte values for binary data."""
    if isinstance(v, list) and v and all(isinstance(x, int) for x in v):
        return [bytes(v).decode("utf-8", "surrogateescape")]
    return v if isinstance(v, list) else [v]


# Fields of an entry that are not the event's: journald's trusted fields
# (leading '_'), and the call site that libsystemd's sd_journal_sendv macro
# adds to every entry.
JOURNAL_OWN = ("CODE_FILE", "CODE_LINE", "CODE_FUNC")


def compare_entry(entry, ev):
    """Every field of the entry, both ways. Repeated fields are compared as
    sets: journald 252 stores an entry's items sorted by data object and
    drops identical name=value items."""
    want = expected_journal(ev)
    got = {k: sorted(set(entry_values(v))) for k, v in entry.items()
           if not k.startswith("_") and k not in JOURNAL_OWN and k != "MESSAGE_ID"}
    diffs = [f"  {k}: journal {got.get(k)!r}, parse {want.get(k)!r}"
             for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)]
    return diffs


def entry_key(e):
    return (e["LOG_FILE_PATH"], int(e["LOG_OFFSET"]))


def kind_subject(ids, prefix):
    m = [v for k, v in ids.items() if k.startswith(prefix)]
    assert len(m) == 1, f"catalog: no single subject starting with {prefix!r}: {sorted(ids)}"
    return m[0]


SD_PARAMS = {"log_type": "smartermail.log_type", "session_id": "smartermail.session_id",
             "delivery_id": "smartermail.delivery.id", "source_ip": "source.ip",
             "action": "event.action", "outcome": "event.outcome", "user": "user.name",
             "spool_id": "smartermail.spool.id"}


def parse_sd(sd):
    """'[id k="v" ...]' (one element) -> (id, {k: v})."""
    m = re.fullmatch(r'\[(\S+)((?: [^=\s]+="(?:[^"\\]|\\.)*")*)\]', sd)
    assert m, f"structured data {sd!r}"
    params = {k: re.sub(r'\\(["\\\]])', r"\1", v)
              for k, v in re.findall(r' ([^=\s]+)="((?:[^"\\]|\\.)*)"', m[2])}
    return m[1], params


def first_value(v):
    return v[0] if isinstance(v, list) else v


def check_syslog_record(rec, ev, fmt="rfc5424", cee=False, sd=True):
    """One line of the receiver against parse's event; returns problems."""
    p = []
    want = {"app-name": "smartermail", "hostname": "mail01", "syslogfacility": 2,
            "pri": 16 + ev["event"]["severity"], "syslogseverity": ev["event"]["severity"]}
    if fmt == "rfc5424":
        want.update({"protocol-version": "1", "msgid": ev["smartermail"]["log_type"],
                     "timereported": ev["@timestamp"], "procid": "-"})
    else:
        want.update({"protocol-version": "0", "syslogtag": "smartermail:"})
    for k, v in want.items():
        if rec.get(k) != v:
            p.append(f"{k}: {rec.get(k)!r} != {v!r}")
    if cee != rec["msg"].startswith("@cee: "):
        p.append(f"msg starts {rec['msg'][:10]!r}")
    if fmt == "rfc5424":
        if not sd:
            if rec["structured-data"] != "-":
                p.append(f"structured-data {rec['structured-data']!r}, wanted none")
        else:
            sid, params = parse_sd(rec["structured-data"])
            flat = flatten(ev)
            wparams = {k: str(first_value(flat[f])) for k, f in SD_PARAMS.items() if f in flat}
            if sid != "smartermail@32473" or params != wparams:
                p.append(f"structured-data {rec['structured-data']!r}, wanted {wparams!r}")
    else:
        # RFC 3164: "<PRI>Mmm dd hh:mm:ss HOST TAG: MSG", in the log's zone
        m = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) mail01 smartermail: ", rec["rawmsg"])
        local = re.match(r"(?:\[[\d.]+\] )?(\d\d:\d\d:\d\d)", ev["event"]["original"])
        if not m or not local or not m[1].endswith(local[1]):
            p.append(f"RFC 3164 header of {rec['rawmsg'][:60]!r}: wanted local time "
                     f"{local and local[1]!r}")
    return p


def compare_all(lines, ref, **fmt):
    """Every reference event received once, equal field by field."""
    got = {}
    problems = []
    for rec, ev in lines:
        k = ev_key(ev)
        if k in got:
            problems.append(f"{k}: received twice")
        got[k] = (rec, ev)
    for k in sorted(set(ref) - set(got))[:10]:
        problems.append(f"{k}: missing")
    for k in sorted(set(got) - set(ref))[:10]:
        problems.append(f"{k}: not an event of parse")
    for k in sorted(set(got) & set(ref)):
        rec, ev = got[k]
        if ev != ref[k]:
            f1, f2 = flatten(ev), flatten(ref[k])
            problems += [f"{k} {n}: received {f1.get(n)!r}, parse {f2.get(n)!r}"
                         for n in sorted(set(f1) | set(f2)) if f1.get(n) != f2.get(n)]
        problems += [f"{k} {x}" for x in check_syslog_record(rec, ev, **fmt)]
    return problems


def wait_all(keys, want, what, sh, timeout):
    """Wait until every key of want is among keys() (what a receiver
    stored); on a timeout say how many and which are missing, with the
    daemon's stderr."""
    missing = lambda: sorted(set(want) - set(keys()))
    wait_for(lambda: not missing(), what, timeout=timeout,
             on_timeout=lambda: "missing %d: %s\n%s" % (len(missing()), missing()[:10], sh.tail()))


def missing_and_dups(keys, want):
    c = Counter(keys)
    missing = sorted(set(want) - set(c))
    dups = sum(n - 1 for k, n in c.items() if n > 1)
    return missing, dups


# ---- 1. journald ------------------------------------------------------------

def test_journald_fields(journald, shim_env):
    journald.ensure()
    sh = shim_env
    paths = copy_samples(sh.logs)
    ref = parse_events(sh.bin, paths)
    sh.start("--output", "journald")
    entries = wait_for(lambda: (lambda e: len(e) >= len(ref) and e)(journald.entries(sh.logs)),
                       f"{len(ref)} journal entries", on_timeout=sh.tail)
    assert sh.stop() == 0, sh.tail()
    entries = journald.entries(sh.logs)
    keys = [entry_key(e) for e in entries]
    assert sorted(keys) == sorted(ref), "journal entries are not parse's events, once each"

    ids = catalog_ids()
    all_ids = set(ids.values())
    problems = []
    for e in entries:
        ev = ref[entry_key(e)]
        problems += [f"{entry_key(e)}:\n{d}" for d in compare_entry(e, ev)]
        if e.get("MESSAGE_ID") not in all_ids:
            problems.append(f"{entry_key(e)}: MESSAGE_ID {e.get('MESSAGE_ID')!r} not in the catalog")
    assert not problems, "journal entries differ from parse:\n" + "\n".join(problems[:40])

    # MESSAGE_ID per kind, as the catalog explains them
    by_key = {entry_key(e): e for e in entries}
    checks = [
        ("SmarterMail: authentication failed",
         lambda ev: "authentication" in ev["event"]["category"]
         and ev["event"].get("outcome") == "failure"),
        ("SmarterMail: authentication succeeded",
         lambda ev: "authentication" in ev["event"]["category"]
         and ev["event"].get("outcome") == "success"),
        ("SmarterMail: delivery failed",
         lambda ev: ev.get("smartermail", {}).get("delivery", {}).get("status") == "Bounced"),
        ("SmarterMail: message delivered",
         lambda ev: ev.get("smartermail", {}).get("delivery", {}).get("status") == "Delivered"),
    ]
    for subject, pred in checks:
        want_id = kind_subject(ids, subject)
        hits = [k for k, ev in ref.items() if pred(ev)]
        assert hits, f"the samples have no record for {subject!r}"
        wrong = [(k, by_key[k]["MESSAGE_ID"]) for k in hits if by_key[k]["MESSAGE_ID"] != want_id]
        assert not wrong, f"{subject}: wanted MESSAGE_ID {want_id}, got {wrong}"


def test_journald_restart_mid_stream(journald, shim_env):
    """journald stops while the daemon runs; records appended meanwhile are
    refused and the checkpoint stays where journald took them; after the
    restart every record arrives."""
    journald.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(50)
    sh.start("--output", "journald")
    first = {(w.path, o) for o in w.offsets}
    wait_for(lambda: first <= {entry_key(e) for e in journald.entries(sh.logs)},
             "the first 50 entries", on_timeout=sh.tail)
    journald.stop()
    w.append(50)
    sh.wait_stderr(r"journald: send failed", "the daemon to see journald gone")
    w.append(50)
    # refused: nothing is acknowledged any more. Once the checkpoint file
    # has caught up with the last acknowledgement, it does not move,
    # although there is more to read.
    cp0 = sh.stats()[0][Writer.NAME][1]
    wait_for(lambda: sh.checkpoint()[Writer.NAME] == cp0, "the checkpoint file to catch up")

    def same():
        assert sh.checkpoint()[Writer.NAME] == cp0, "checkpoint advanced while journald was down"
    hold(same, 1.5)
    assert cp0 == w.offsets[50], "the checkpoint is not where journald stopped taking records"
    assert sh.stats()[0][Writer.NAME][1] == cp0
    journald.start()
    w.append(20)
    want = {(w.path, o) for o in w.offsets}
    jkeys = lambda: [entry_key(e) for e in journald.entries(sh.logs)]
    wait_all(jkeys, want, f"all {len(want)} records in the journal after the restart", sh, 40)
    wait_for(lambda: sh.checkpoint()[Writer.NAME] == w.size(), "the checkpoint to catch up")
    assert sh.stop() == 0, sh.tail()
    entries = journald.entries(sh.logs)
    missing, dups = missing_and_dups([entry_key(e) for e in entries], want)
    ref = parse_events(sh.bin, [w.path])
    bad = [d for e in entries for d in compare_entry(e, ref[entry_key(e)])]
    assert not bad, bad[:10]
    assert not missing and dups == 0


def test_journald_stop_while_sending(journald, shim_env):
    """journald gets SIGTERM while the daemon sends without pause. The
    datagrams it had not read yet die with its socket, and sendmsg()
    accepted them, so the daemon acknowledged them: the native protocol has
    no acknowledgement. Measured here; everything refused afterwards
    arrives after the restart. (Under systemd the socket belongs to PID 1
    and outlives journald: nothing is lost there.)"""
    journald.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(20)
    sh.start("--output", "journald")
    jkeys = lambda: [entry_key(e) for e in journald.entries(sh.logs)]
    wait_for(lambda: len(jkeys()) >= 20, "the first 20 entries", on_timeout=sh.tail)
    w.run_for(60, per_s=400)
    wait_for(lambda: len(jkeys()) >= 100, "entries while the writer runs")
    journald.stop()
    stored = set(jkeys())
    sh.wait_stderr(r"journald: send failed", "the daemon to see journald gone")
    w.join()
    cp = sh.stats()[0][Writer.NAME][1]
    acked = [o for o in w.offsets if o < cp]
    lost = [o for o in acked if (w.path, o) not in stored]
    lost_keys = {(w.path, o) for o in lost}
    journald.start()
    want = {(w.path, o) for o in w.offsets}
    wait_all(jkeys, want - lost_keys, "every record not lost at the stop", sh, 40)
    assert sh.stop() == 0, sh.tail()
    missing, dups = missing_and_dups(jkeys(), want)
    assert set(missing) == lost_keys, \
        "records missing beyond those acknowledged into the dying journald"
    report = (f"{len(w.offsets)} records at ~400/s; journald stopped after {len(stored)} were "
              f"stored; the daemon had acknowledged {len(acked)}: {len(lost)} of them never "
              f"reached the journal (offsets {lost[:10]}); {dups} duplicates")
    print("journald stop while sending:", report)
    if lost:
        pytest.xfail("known: datagrams queued in the socket of a journald that is exiting "
                     "are lost (harness journald owns its socket): " + report)


def test_journald_frozen_daemon_stays_responsive(journald, shim_env):
    """journald is frozen (SIGSTOP) while records keep coming: its socket
    queue fills, reading pauses instead of blocking in a send, so the
    daemon still answers SIGUSR1 at once, memory stays flat, and SIGTERM
    stops it within its shutdown timeout. After SIGCONT every record
    arrives, each once."""
    journald.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(20)
    sh.start("--output", "journald", "--shutdown-timeout-ms", "2000")
    jkeys = lambda: [entry_key(e) for e in journald.entries(sh.logs)]
    wait_for(lambda: len(jkeys()) >= 20, "the first 20 entries", on_timeout=sh.tail)
    pid = journald.pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        w.append(3000)
        time.sleep(1.0)     # journald's queue holds a few entries: full by now
        before = proc_status_kib(sh.proc.pid, "VmRSS")
        for _ in range(5):
            t0 = time.monotonic()
            files, _, _, paused_ms = sh.stats(timeout=5)
            took = time.monotonic() - t0
            assert took < 2, f"SIGUSR1 answered after {took:.1f} s with journald frozen"
            time.sleep(0.2)
        assert files[Writer.NAME][1] < w.size(), "the checkpoint passed records still to send"
        assert paused_ms > 0, "reading did not pause"
        assert "journald: not reading" in sh.stderr(), "the pause was not logged"
        grew = proc_status_kib(sh.proc.pid, "VmRSS") - before
        assert grew < 4096, f"memory grew by {grew} KiB while journald was frozen"
        t0 = time.monotonic()
        assert sh.stop(timeout=10) == 0, sh.tail()
        assert time.monotonic() - t0 < 6, "SIGTERM took too long with journald frozen"
        cp = sh.checkpoint()[Writer.NAME]
    finally:
        os.kill(pid, signal.SIGCONT)
    assert cp < w.size()
    sh.start("--output", "journald")
    want = {(w.path, o) for o in w.offsets}
    wait_all(jkeys, want, "every record after SIGCONT and a restart", sh, 60)
    assert sh.stop() == 0, sh.tail()
    missing, dups = missing_and_dups(jkeys(), want)
    # records sent into the frozen journald's queue before the stop were
    # acknowledged; the checkpoint is at most there, so none is sent twice
    # except those in flight at the stop, which the checkpoint did not name
    assert not missing and dups == 0, (len(missing), dups)


def test_journald_entry_larger_than_a_datagram(journald, shim_env):
    """An entry larger than the socket's send buffer (a 1.5 MB line) goes to
    journald in a sealed memfd, whole; the records around it as datagrams."""
    journald.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(1)
    big = "08:00:01.000 [203.0.113.9][99999999] cmd: DATA " + "x" * 1_500_000
    with open(w.path, "a", newline="") as f:
        f.write(big + "\r\n")
    w.append(1)
    sh.start("--output", "journald", "--max-record-bytes", "4M", "--no-summaries")
    want = 3
    wait_for(lambda: len(journald.entries(sh.logs)) >= want, f"{want} entries",
             on_timeout=sh.tail)
    assert sh.stop() == 0, sh.tail()
    entries = journald.entries(sh.logs)
    assert len(entries) == want, [entry_key(e) for e in entries]
    originals = sorted(len(e["EVENT_ORIGINAL"]) for e in entries)
    assert originals[-1] == len(big), f"the large record arrived with {originals[-1]} bytes"
    assert "too large" not in sh.stderr(), sh.tail()


# ---- 2. rsyslog, every transport --------------------------------------------

TRANSPORTS = {
    # id: (listener, shim options, expectations)
    "udp": ("udp", lambda r: ["--syslog-target", f"udp://127.0.0.1:{r.ports['udp']}"], {}),
    "tcp-octet": ("tcp", lambda r: ["--syslog-target", f"tcp://127.0.0.1:{r.ports['tcp']}",
                                    "--syslog-framing", "octet-counting"], {}),
    "tcp-newline": ("tcp", lambda r: ["--syslog-target", f"tcp://127.0.0.1:{r.ports['tcp']}",
                                      "--syslog-framing", "newline"], {}),
    "ptcp": ("ptcp", lambda r: ["--syslog-target", f"tcp://127.0.0.1:{r.ports['ptcp']}"], {}),
    "relp": ("relp", lambda r: ["--syslog-target", f"relp://127.0.0.1:{r.ports['relp']}"], {}),
    "tls": ("tls", lambda r: ["--syslog-target", f"tls://127.0.0.1:{r.ports['tls']}",
                              "--syslog-tls-ca", f"{r.pki}/ca.pem",
                              "--syslog-tls-server-name", "localhost"], {}),
    "mtls": ("mtls", lambda r: ["--syslog-target", f"tls://127.0.0.1:{r.ports['mtls']}",
                                "--syslog-tls-ca", f"{r.pki}/ca.pem",
                                "--syslog-tls-server-name", "localhost",
                                "--syslog-tls-cert", f"{r.pki}/client.pem",
                                "--syslog-tls-key", f"{r.pki}/client.key"], {}),
    "rfc3164": ("tcp", lambda r: ["--syslog-target", f"tcp://127.0.0.1:{r.ports['tcp']}",
                                  "--syslog-format", "rfc3164"], {"fmt": "rfc3164"}),
    "cee": ("tcp", lambda r: ["--syslog-target", f"tcp://127.0.0.1:{r.ports['tcp']}",
                              "--syslog-message", "cee"], {"cee": True}),
    "no-sd": ("ptcp", lambda r: ["--syslog-target", f"tcp://127.0.0.1:{r.ports['ptcp']}",
                                 "--no-syslog-structured-data"], {"sd": False}),
}


@pytest.mark.parametrize("name", list(TRANSPORTS))
def test_syslog_transport(rsyslog, shim_env, name):
    listener, opts, fmt = TRANSPORTS[name]
    rsyslog.ensure()
    sh = shim_env
    paths = copy_samples(sh.logs)
    ref = parse_events(sh.bin, paths)
    rd = rsyslog.reader(listener, sh.logs)
    internal = rsyslog.reader("internal", "")
    sh.start("--output", "syslog", *opts(rsyslog))
    wait_for(lambda: len(rd.poll()) >= len(ref), f"{len(ref)} messages at {listener}",
             on_timeout=lambda: f"have {len(rd.lines)}\n{sh.tail()}")
    assert sh.stop() == 0, sh.tail()
    cp = sh.checkpoint()
    assert cp == {os.path.basename(p): os.path.getsize(p) for p in paths}
    problems = compare_all(rd.poll(), ref, **fmt)
    assert not rd.bad, f"messages that are not JSON events: {rd.bad[:3]}"
    assert not problems, f"{name}: receiver differs from parse:\n" + "\n".join(problems[:40])
    # rsyslogd's own complaints about this connection (a TLS session not
    # closed properly, a broken frame) show up in its internal log
    with open(internal.path, "rb") as f:
        f.seek(internal.pos)
        errs = [l for l in f.read().decode(errors="replace").splitlines()
                if re.search(r"error|incomplete|invalid", l, re.I)]
    assert not errs, f"rsyslogd complained:\n" + "\n".join(errs)


# ---- 3. receiver down -------------------------------------------------------

WINDOW = 300


@pytest.mark.parametrize("transport", ["tcp", "relp", "tls"])
def test_receiver_down(rsyslog, shim_env, transport):
    """rsyslog stops (gracefully) for 10 s while records keep being appended.
    While it is down the checkpoint never names a record rsyslog has not
    stored, and reading pauses at the in-flight window; afterwards every
    record arrives, duplicates bounded."""
    listener = transport
    rsyslog.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(100)
    rd = rsyslog.reader(listener, sh.logs)
    tls = (["--syslog-tls-ca", f"{rsyslog.pki}/ca.pem", "--syslog-tls-server-name", "localhost"]
           if transport == "tls" else [])
    sh.start("--output", "syslog", "--syslog-target",
             f"{transport}://127.0.0.1:{rsyslog.ports[listener]}",
             "--max-inflight-records", str(WINDOW), *tls)
    wait_for(lambda: len(rd.poll()) >= 100, "the first 100 records", on_timeout=sh.tail)

    w.run_for(120, per_s=60)
    n0 = len(rd.poll())
    wait_for(lambda: len(rd.poll()) >= n0 + 30, "records while the writer runs")
    t_stop = time.monotonic()
    rsyslog.stop()
    stored = set(rd.keys())     # rsyslogd has exited: its files are complete

    def checkpoint_covered():
        cp = sh.checkpoint().get(Writer.NAME, 0)
        over = [o for o in w.offsets[:] if o < cp and (w.path, o) not in stored]
        assert not over, (f"checkpoint {cp} names {len(over)} records rsyslog never stored "
                          f"(first offsets {over[:5]})")
    hold(checkpoint_covered, OUTAGE_S - (time.monotonic() - t_stop))
    # reading paused: the in-flight window is full and the file has grown
    # past what was read
    files, _, inflight, paused_ms = sh.stats()
    read = files[Writer.NAME][0]
    assert inflight == WINDOW and read < w.size() and paused_ms > 0, \
        f"reading did not pause: inflight={inflight} read={read} size={w.size()} paused_ms={paused_ms}"
    cp_down = sh.checkpoint()[Writer.NAME]
    rsyslog.ensure()
    t_up = time.monotonic()
    n1 = len(w.offsets)
    wait_for(lambda: len(w.offsets) >= n1 + 30, "the writer to go on after the restart")
    w.join()
    want = {(w.path, o) for o in w.offsets}
    wait_all(rd.keys, want, f"all {len(want)} records after the restart", sh, 60)
    t_all = time.monotonic()
    assert sh.stop() == 0, sh.tail()
    assert sh.checkpoint()[Writer.NAME] == w.size()
    missing, dups = missing_and_dups(rd.keys(), want)
    assert not missing
    ref = parse_events(sh.bin, [w.path])
    bad = [f"{ev_key(ev)}: differs" for _, ev in rd.poll() if ev != ref[ev_key(ev)]]
    assert not bad and not rd.bad, (bad[:5], rd.bad[:3])
    # Duplicates: only records sent but not acknowledged when the connection
    # broke are sent again, and those are in the in-flight window (RELP:
    # librelp's window of unacknowledged frames, --syslog-relp-window 128).
    bound = 128 if transport == "relp" else WINDOW
    assert dups <= bound
    print(f"{transport} outage: {len(want)} records, checkpoint during outage {cp_down}, "
          f"{dups} duplicates, caught up {t_all - t_up:.1f} s after the restart")


@pytest.mark.parametrize("transport", ["relp", "tcp"])
def test_graceful_stop_under_load(rsyslog, shim_env, transport):
    """rsyslog is stopped (SIGTERM) while the daemon sends as fast as it
    can. RELP: nothing is lost. TCP: what is lost is at most what the
    receiver's kernel had acknowledged and rsyslogd had not processed (the
    sink's header says so): every missing record lies below the offset the
    daemon had committed when the connection broke. Anything else would be
    a record the daemon failed to send again."""
    rsyslog.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(60000)
    log = rsyslog.log(transport)
    start = os.path.getsize(log)

    def lines():
        with open(log, "rb") as f:
            f.seek(start)
            return f.read().count(b"\n")
    rd = rsyslog.reader(transport, sh.logs)
    sh.start("--output", "syslog", "--syslog-target",
             f"{transport}://127.0.0.1:{rsyslog.ports[transport]}", "--no-summaries")
    wait_for(lambda: lines() >= 10000, "10000 records at rsyslog", on_timeout=sh.tail)
    rsyslog.stop()
    sh.wait_stderr(r"syslog: (connection closed by|write to|RELP)", "the daemon to see it")
    committed = sh.stats()[0][Writer.NAME][1]
    at_stop = lines()
    rsyslog.ensure()
    want = {(w.path, o) for o in w.offsets}
    wait_for(lambda: sh.checkpoint().get(Writer.NAME) == w.size(), "everything sent",
             timeout=60, on_timeout=sh.tail)
    after = {k for k in want if k[1] >= committed}
    wait_for(lambda: after <= set(rd.keys()), "every record sent after the break at rsyslog",
             on_timeout=lambda: f"missing {sorted(after - set(rd.keys()))[:5]}")
    assert sh.stop() == 0, sh.tail()
    missing, dups = missing_and_dups(rd.keys(), want)
    beyond = [k for k in missing if k[1] >= committed]
    assert not beyond, f"missing records the daemon had not counted as delivered: {beyond[:5]}"
    report = (f"{len(want)} records; rsyslog stopped with {at_stop} stored; "
              f"{len(missing)} lost (all below the committed offset {committed}: acknowledged "
              f"by rsyslog's kernel, not processed by rsyslogd); {dups} duplicates")
    print(f"{transport} graceful stop under load:", report)
    if transport == "relp":
        assert not missing
    elif missing:
        pytest.xfail("known, documented for tcp: " + report)


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_receiver_restart_then_quiet(rsyslog, shim_env, transport):
    """rsyslog restarts and only one record follows: it went into the dead
    connection, and with no traffic after it nothing but the daemon's own
    checks can tell that connection is gone. It must still arrive."""
    rsyslog.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(20)
    rd = rsyslog.reader(transport, sh.logs)
    tls = (["--syslog-tls-ca", f"{rsyslog.pki}/ca.pem", "--syslog-tls-server-name", "localhost"]
           if transport == "tls" else [])
    sh.start("--output", "syslog", "--syslog-target",
             f"{transport}://127.0.0.1:{rsyslog.ports[transport]}", *tls)
    wait_for(lambda: len(rd.poll()) >= 20, "20 records", on_timeout=sh.tail)
    rsyslog.stop()
    rsyslog.ensure()
    w.append(1)
    want = {(w.path, o) for o in w.offsets}
    wait_for(lambda: want <= set(rd.keys()), "the one record after the restart", timeout=15,
             on_timeout=lambda: f"{sh.stats()}\n{sh.tail()}")
    wait_for(lambda: sh.checkpoint()[Writer.NAME] == w.size(), "the checkpoint to catch up")
    assert sh.stop() == 0, sh.tail()


@pytest.fixture(scope="module")
def rsyslog_ossl(tmp_path_factory):
    """A second harness whose TLS listeners use OpenSSL, which (unlike
    GnuTLS here) sends TLS 1.3 session tickets after the handshake."""
    r = Rsyslog(str(tmp_path_factory.mktemp("rsyslog-ossl")), tls_driver="ossl")
    r.start()
    try:
        yield r
    finally:
        r.stop()


def test_tls_receiver_crash_then_quiet(rsyslog_ossl, shim_env):
    """rsyslogd dies (SIGKILL: its kernel closes with a FIN) and one record
    follows after its restart. The daemon writes it into the old connection
    and the peer answers with a reset; the session tickets the daemon never
    read are still in front of the EOF. The reset must still be noticed and
    the record sent again on a new connection."""
    rs = rsyslog_ossl
    rs.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(20)
    rd = rs.reader("tls", sh.logs)
    sh.start("--output", "syslog", "--syslog-target", f"tls://127.0.0.1:{rs.ports['tls']}",
             "--syslog-tls-ca", f"{rs.pki}/ca.pem", "--syslog-tls-server-name", "localhost",
             "--no-summaries")     # no other traffic: a summary in flight makes it a reset
    wait_for(lambda: len(rd.poll()) >= 20, "20 records", on_timeout=sh.tail)
    pid = rs.pid()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not rs.running(), "rsyslogd to die")
    rs.ensure()
    w.append(1)
    want = {(w.path, o) for o in w.offsets}
    wait_for(lambda: want <= set(rd.keys()), "the one record after the restart", timeout=15,
             on_timeout=lambda: f"{sh.stats()}\n{sh.tail()}")
    assert sh.stop() == 0, sh.tail()


def test_relp_stop_while_receiver_down(rsyslog, shim_env):
    """SIGTERM while the RELP receiver is down: what librelp still holds
    unacknowledged must not be checkpointed; it is sent at the next start."""
    rsyslog.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(60)
    rd = rsyslog.reader("relp", sh.logs)
    opts = ("--output", "syslog", "--syslog-target", f"relp://127.0.0.1:{rsyslog.ports['relp']}",
            "--shutdown-timeout-ms", "3000")
    sh.start(*opts)
    wait_for(lambda: len(rd.poll()) >= 60, "60 records", on_timeout=sh.tail)
    rsyslog.stop()
    stored = set(rd.keys())
    w.append(10)
    sh.wait_stderr(r"syslog: RELP (send|connect|reconnect)", "the daemon to see rsyslog gone")
    assert sh.stop() == 0, sh.tail()
    cp = sh.checkpoint()[Writer.NAME]
    over = [o for o in w.offsets if o < cp and (w.path, o) not in stored]
    rsyslog.ensure()
    sh.start(*opts)
    want = {(w.path, o) for o in w.offsets}
    wait_all(rd.keys, want, "every record after the restart", sh, 30)
    assert sh.stop() == 0, sh.tail()
    assert not over, (f"checkpoint {cp} after a stop with rsyslog down names {len(over)} records "
                      f"rsyslog never got")


def test_relp_stop_while_receiver_stalled(rsyslog, shim_env):
    """SIGTERM while rsyslog is frozen (SIGSTOP): the frames are sent but
    never acknowledged, and closing the RELP session times out. The
    checkpoint must stay at what rsyslog acknowledged before."""
    rsyslog.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(40)
    rd = rsyslog.reader("relp", sh.logs)
    opts = ("--output", "syslog", "--syslog-target", f"relp://127.0.0.1:{rsyslog.ports['relp']}",
            "--shutdown-timeout-ms", "4000")
    sh.start(*opts)
    wait_for(lambda: len(rd.poll()) >= 40, "40 records", on_timeout=sh.tail)
    acked_end = w.size()
    pid = rsyslog.pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        w.append(20)
        wait_for(lambda: sh.stats()[0][Writer.NAME][0] == w.size(), "the daemon to read them")
        assert sh.stop() == 0, sh.tail()
        cp = sh.checkpoint()[Writer.NAME]
    finally:
        os.kill(pid, signal.SIGCONT)
    sh.start(*opts)
    want = {(w.path, o) for o in w.offsets}
    wait_all(rd.keys, want, "every record after the restart", sh, 30)
    assert sh.stop() == 0, sh.tail()
    assert cp <= acked_end, (f"stopped while rsyslog was frozen: the checkpoint says {cp} bytes "
                             f"were delivered, rsyslog had acknowledged {acked_end}")


# ---- 4. fan-out -------------------------------------------------------------

def test_fanout_journald_and_syslog(rsyslog, journald, shim_env):
    """journald,syslog: with rsyslog down the checkpoint stops although
    journald still takes records; afterwards both have everything."""
    rsyslog.ensure()
    journald.ensure()
    sh = shim_env
    w = Writer(sh.logs)
    w.append(50)
    rd = rsyslog.reader("tcp", sh.logs)
    sh.start("--output", "journald,syslog", "--syslog-target",
             f"tcp://127.0.0.1:{rsyslog.ports['tcp']}", "--max-inflight-records", str(WINDOW))
    jkeys = lambda: {entry_key(e) for e in journald.entries(sh.logs)}
    first = {(w.path, o) for o in w.offsets}
    wait_for(lambda: first <= set(rd.keys()) and first <= jkeys(), "50 records at both",
             on_timeout=sh.tail)
    wait_for(lambda: sh.checkpoint().get(Writer.NAME) == w.size(), "the checkpoint to catch up")

    rsyslog.stop()
    stored = set(rd.keys())
    w.run_for(60, per_s=100)
    sh.wait_stderr(r"syslog: (connection closed by|write to)", "the daemon to see rsyslog gone")
    cp0 = sh.stats()[0][Writer.NAME][1]
    wait_for(lambda: sh.checkpoint()[Writer.NAME] == cp0, "the checkpoint file to catch up")
    assert not [o for o in w.offsets[:] if o < cp0 and (w.path, o) not in stored], \
        "the checkpoint names records rsyslog never stored"
    j0 = len(jkeys() - stored)

    def stays():
        assert sh.checkpoint()[Writer.NAME] == cp0, "checkpoint advanced while rsyslog was down"
    # the checkpoint stands still while journald goes on taking records
    # (up to the in-flight window of 300: 3 s of the writer)
    hold(stays, 2.0)
    j1 = len(jkeys() - stored)
    assert j1 > j0 + 50, f"journald took {j1 - j0} records meanwhile"
    w.join()
    rsyslog.ensure()
    w.append(20)
    want = {(w.path, o) for o in w.offsets}
    wait_for(lambda: want <= set(rd.keys()) and want <= jkeys(), "everything at both",
             timeout=40, on_timeout=lambda: "rsyslog missing %d, journald missing %d\n%s" % (
                 len(want - set(rd.keys())), len(want - jkeys()), sh.tail()))
    assert sh.stop() == 0, sh.tail()
    jmissing, jdups = missing_and_dups([entry_key(e) for e in journald.entries(sh.logs)], want)
    smissing, sdups = missing_and_dups(rd.keys(), want)
    assert not jmissing and not smissing
    assert jdups == 0, "journald never went away: it must have every record once"
    assert sdups <= WINDOW
    assert sh.checkpoint()[Writer.NAME] == w.size()
