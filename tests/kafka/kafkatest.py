# SPDX-License-Identifier: MIT
"""Helpers shared by test_kafka.py and bench_kafka.py: brokers through
kafka-harness.sh, a kcat consumer, a paced writer of a generated corpus, the
events `parse` makes of the same files, the check of what the consumer read
against them, and readings of a process from /proc.

Nothing here sleeps in order to wait for a condition: waits poll with a
deadline (wait_for from tests/run/conftest.py). The only timed sleeps are the
writer's pacing and the samplers' period."""

import importlib.util
import json
import os
import random
import re
import socket
import subprocess
import threading
import time
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HARNESS = os.path.join(HERE, "kafka-harness.sh")
GEN_CORPUS = os.path.join(REPO, "tests", "bench", "gen_corpus.py")
MAPPINGS = os.path.join(REPO, "mappings")
HOST = "mail01"
TZ = "America/Chicago"


def _load_run_helpers():
    """tests/run/conftest.py as a plain module (wait_for, Shim, shim_bin)."""
    path = os.path.join(REPO, "tests", "run", "conftest.py")
    spec = importlib.util.spec_from_file_location("run_helpers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


run_helpers = _load_run_helpers()
wait_for = run_helpers.wait_for
# tests/lib is on the path now (the conftest put it there)
from benchutil import proc_cpu_s, proc_status_kib  # noqa: E402,F401


# ---- ports and brokers -----------------------------------------------------

def _port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n):
    """A base port b with b..b+n-1 all free on 127.0.0.1."""
    rnd = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rnd.randrange(20000, 40000)
        if all(_port_free(base + i) for i in range(n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports")


def harness(*args, timeout=240, check=True):
    """Run kafka-harness.sh; returns its stdout (stripped)."""
    env = dict(os.environ)
    env.setdefault("KAFKA_STOP_TIMEOUT", "15")
    p = subprocess.run([HARNESS, *args], capture_output=True, text=True, timeout=timeout,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"kafka-harness.sh {' '.join(args)} failed ({p.returncode}):\n"
                             f"{p.stdout}\n{p.stderr[-4000:]}")
    return p.stdout.strip()


class Brokers:
    """One node or a 3-node cluster in dir, on fresh storage (start-* formats
    it). stop() is safe to call twice and whatever was started."""

    def __init__(self, path):
        self.dir = path
        self.bootstrap = None

    def start_single(self):
        self.bootstrap = harness("start-single", self.dir, str(free_ports(2))).splitlines()[-1]
        return self.bootstrap

    def start_cluster(self):
        self.bootstrap = harness("start-cluster", self.dir, str(free_ports(6))).splitlines()[-1]
        return self.bootstrap

    def node(self, i):
        return os.path.join(self.dir, f"node{i}")

    def stop(self, path=None):
        harness("stop", path or self.dir, check=False)

    def kill(self, path):
        harness("kill", path)

    def restart(self, path=None):
        """Start a stopped node again on its existing storage (the data it
        had stays)."""
        harness("restart", path or self.dir)

    def create_topic(self, topic, partitions=3, rf=1, **config):
        args = ["topics", "--bootstrap-server", self.bootstrap, "--create", "--topic", topic,
                "--partitions", str(partitions), "--replication-factor", str(rf)]
        for k, v in config.items():
            args += ["--config", f"{k.replace('_', '.')}={v}"]
        harness(*args)

    def topic_dirs(self, prefix):
        """The partition directories of topics starting with prefix, on every
        node."""
        out = []
        for root, dirs, _ in os.walk(self.dir):
            for d in dirs:
                if d.startswith(prefix) and re.search(r"-\d+$", d):
                    out.append(os.path.join(root, d))
        return out

    def topic_bytes(self, prefix):
        """Bytes in the log segments of topics starting with prefix (what
        `du -b` counts for the .log files: the record batches as stored)."""
        total = 0
        for d in self.topic_dirs(prefix):
            for f in os.listdir(d):
                if f.endswith(".log"):
                    total += os.path.getsize(os.path.join(d, f))
        return total


# ---- the consumer -----------------------------------------------------------

def topics(bootstrap, prefix):
    p = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-m", "10"], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"kcat -L failed: {p.stderr}")
    return sorted(t["topic"] for t in json.loads(p.stdout)["topics"]
                  if t["topic"].startswith(prefix))


def ensure_topic(bootstrap, topic, timeout=60):
    """Create topic by asking for its metadata (the brokers auto-create), and
    wait until it has its partitions."""
    def ready():
        p = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-t", topic],
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0 and any(t["topic"] == topic and t.get("partitions")
                                         for t in json.loads(p.stdout)["topics"])
    wait_for(ready, f"topic {topic}", timeout)


def consume(bootstrap, prefix="smartermail."):
    """Every message in the topics starting with prefix, as kcat -J prints
    them (topic, partition, offset, key, headers, payload), each topic read
    from the beginning to its end."""
    out = []
    for t in topics(bootstrap, prefix):
        p = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", t, "-o", "beginning", "-e",
                            "-J", "-q", "-m", "30"], capture_output=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError(f"kcat -C -t {t} failed: {p.stderr.decode(errors='replace')}")
        for line in p.stdout.splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


# ---- input ------------------------------------------------------------------

TS_LINE = re.compile(rb"\r\n(?=\d\d:\d\d:\d\d\.\d{3} )")


def gen_corpus(records, out, seed=1):
    """gen_corpus.py --form disk into out; returns its file paths."""
    os.makedirs(out, exist_ok=True)
    subprocess.run(["python3", GEN_CORPUS, "--records", str(records), "--out", out,
                    "--form", "disk", "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    return sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".log"))


def split_records(data):
    """The records of a log file's bytes, each with its CRLF (continuation
    lines stay with their record)."""
    parts = TS_LINE.split(data)
    recs = [p + b"\r\n" for p in parts[:-1]]
    if parts[-1]:
        recs.append(parts[-1] if parts[-1].endswith(b"\r\n") else parts[-1] + b"\r\n")
    return recs


class Appender(threading.Thread):
    """Copies source log files into a log directory record by record, in
    chunks of whole records (one write() each), round robin over the files,
    at about `rate` records a second (0: as fast as it can)."""

    def __init__(self, sources, logs, rate=0, chunk=50):
        super().__init__(daemon=True)
        self.logs = logs
        self.rate = rate
        self.chunk = chunk
        self.files = []
        for src in sources:
            with open(src, "rb") as f:
                self.files.append((os.path.join(logs, os.path.basename(src)),
                                   split_records(f.read())))
        self.total = sum(len(r) for _, r in self.files)
        self.written = 0
        self.error = None
        self.halt = threading.Event()

    def run(self):
        try:
            pos = [0] * len(self.files)
            t0 = time.monotonic()
            while self.written < self.total and not self.halt.is_set():
                if self.rate:
                    allowed = int((time.monotonic() - t0) * self.rate) + self.chunk
                    if self.written >= allowed:
                        self.halt.wait(0.01)    # pacing, not waiting for a condition
                        continue
                for i, (path, recs) in enumerate(self.files):
                    if pos[i] >= len(recs):
                        continue
                    part = recs[pos[i]:pos[i] + self.chunk]
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    try:
                        data = b"".join(part)
                        assert os.write(fd, data) == len(data), "short write"
                    finally:
                        os.close(fd)
                    pos[i] += len(part)
                    self.written += len(part)
        except Exception as e:      # reported by finish()
            self.error = e

    def finish(self, timeout=120):
        """Wait (polling) until everything is written; re-raise a failure."""
        wait_for(lambda: not self.is_alive(), "the writer to finish", timeout)
        if self.error:
            raise self.error


def parse_events(shim_bin, files, extra=()):
    """What `parse` makes of files: {(path, offset): event}."""
    p = subprocess.run([shim_bin, "parse", "--mappings", MAPPINGS, "--no-summaries",
                        "--timezone", TZ, "--host-name", HOST, *extra, *files],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, f"parse failed: {p.stderr.decode(errors='replace')}"
    out = {}
    for line in p.stdout.splitlines():
        ev = json.loads(line)
        out[(ev["log"]["file"]["path"], ev["log"]["offset"])] = ev
    return out


def log_files(logs):
    return sorted(os.path.join(logs, f) for f in os.listdir(logs) if f.endswith(".log"))


# ---- checking what arrived --------------------------------------------------

def expected_key(ev):
    sm = ev.get("smartermail", {})
    ident = sm.get("session_id") or sm.get("delivery", {}).get("id") or ""
    return f"{HOST}|{sm['log_type']}|{ident}"


class Delivery:
    """What the consumer read, checked against parse's events:
    each message's topic, key, headers and value (field by field); which
    records are missing, which came more than once; and, with
    check_order, that the records of one key are in one partition and in
    file order there."""

    def __init__(self, msgs, expected, prefix="smartermail."):
        self.expected = expected
        self.copies = Counter()
        self.problems = []
        by_key = defaultdict(list)
        for m in msgs:
            ev = json.loads(m["payload"])
            k = (ev["log"]["file"]["path"], ev["log"]["offset"])
            self.copies[k] += 1
            want = expected.get(k)
            if want is None:
                self.problems.append(f"unexpected record {k}")
                continue
            typ = want["smartermail"]["log_type"]
            if ev != want:
                diff = sorted(f for f in set(ev) | set(want) if ev.get(f) != want.get(f))
                self.problems.append(f"{k}: value differs from parse in {diff}")
            if m["topic"] != prefix + typ:
                self.problems.append(f"{k}: topic {m['topic']}, want {prefix + typ}")
            if m["key"] != expected_key(want):
                self.problems.append(f"{k}: key {m['key']!r}, want {expected_key(want)!r}")
            if m.get("headers") != ["log_type", typ, "host", HOST]:
                self.problems.append(f"{k}: headers {m.get('headers')}")
            by_key[(m["topic"], m["key"])].append((m["partition"], m["offset"], k))
        self.by_key = by_key
        self.missing = sorted(set(expected) - set(self.copies))
        self.dups = {k: n - 1 for k, n in self.copies.items() if n > 1}
        self.ndups = sum(self.dups.values())

    def order_problems(self):
        out = []
        for key, recs in self.by_key.items():
            parts = {p for p, _, _ in recs}
            if len(parts) != 1:
                out.append(f"{key}: spread over partitions {sorted(parts)}")
                continue
            last = {}
            for _, _, (path, off) in sorted(recs):
                if path in last and off <= last[path]:
                    out.append(f"{key}: {path} offset {off} after {last[path]}")
                    break
                last[path] = off
        return out

    def summary(self):
        return (f"{len(self.expected)} expected, {sum(self.copies.values())} read, "
                f"{len(self.missing)} missing, {self.ndups} duplicates, "
                f"{len(self.problems)} problems: {self.problems[:5]} missing: {self.missing[:5]}")

    def assert_complete(self, exactly_once=True, order=True):
        assert not self.problems, self.summary()
        assert not self.missing, self.summary()
        if exactly_once:
            assert not self.dups, self.summary()
        if order:
            op = self.order_problems()
            assert not op, f"order: {op[:5]}"


# ---- a process from /proc ---------------------------------------------------

class Sampler(threading.Thread):
    """Reads fn() every period seconds into samples [(t, value)] until
    stopped or fn raises (the process went away)."""

    def __init__(self, fn, period=0.2):
        super().__init__(daemon=True)
        self.fn = fn
        self.period = period
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                self.samples.append((time.monotonic(), self.fn()))
            except (OSError, ValueError):
                return
            self.halt.wait(self.period)

    def stop(self):
        self.halt.set()
        self.join(5)
        return self.samples

    def between(self, t0, t1):
        return [v for t, v in self.samples if t0 <= t <= t1]


# ---- the daemon ---------------------------------------------------------------

def shim_args(logs, state, bootstrap, *extra):
    return ["--mappings", MAPPINGS, "--logs", logs, "--state", state, "--output", "kafka",
            "--kafka-brokers", bootstrap, "--from", "beginning", "--timezone", TZ,
            "--host-name", HOST, *extra]


def checkpoint(state):
    """{file name: offset} of STATE/checkpoint.json ({} when none)."""
    try:
        with open(os.path.join(state, "checkpoint.json")) as f:
            data = json.load(f)
    except (FileNotFoundError, ValueError):
        return {}
    return {e["name"]: e["offset"] for e in data["files"]}


def caught_up(state, logs):
    """Whether the checkpoint names the end of every log file."""
    ck = checkpoint(state)
    for path in log_files(logs):
        if ck.get(os.path.basename(path)) != os.path.getsize(path):
            return False
    return True
