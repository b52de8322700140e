# SPDX-License-Identifier: MIT
"""The Kafka output against real brokers (tests/kafka/kafka-harness.sh, KRaft
on 127.0.0.1, fresh storage per test, always stopped at teardown): what a
consumer (kcat -J) reads is compared with what `parse` makes of the same
files, record by record and field by field.

  basic          samples + a generated corpus: every record exactly once,
                 topic per log type, key host|type|id, headers, file order
                 per key within its partition
  outage         the only broker away for 60 s while a writer appends:
                 nothing lost, duplicates only from the un-acknowledged
                 window, reading paused, checkpoint still, memory flat
  kill -9        the daemon killed mid-stream and started again: nothing
                 lost, duplicates only past the checkpoint
  cluster        3 brokers, RF 3, min ISR 2, one SIGKILLed mid-stream:
                 nothing lost, nothing twice, order kept
  permanent      a record larger than the topic's max.message.bytes, refused
                 by the broker or already by the producer: it lands in the
                 rejected file, everything else arrives

Run: /usr/bin/python3 -m pytest -q tests/kafka   (SHIM=path overrides the
binary; it is built with make otherwise)."""

import json
import os
import random
import re
import shutil
import signal
import string
import subprocess
import time
from dataclasses import dataclass

import pytest

import kafkatest as kt

OUTAGE_S = 60.0
WINDOW = 10000                  # --max-inflight-records default
RSS_BOUND = 64 << 20
RSS_BOUND_ASAN = 128 << 20      # shadow memory and quarantine are not the daemon's
CKPT_MS = 200

shim_bin = kt.run_helpers.shim_bin      # fixture: $SHIM or `make smartermail-shim`
wait_for = kt.wait_for


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture
def kafka(tmp_path):
    """A Brokers handle on tmp/kafka; whatever it started is stopped at
    teardown, so that no JVM outlives the test."""
    b = kt.Brokers(str(tmp_path / "kafka"))
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A generated corpus of about 20k records (smtpLog and delivery of one
    day, interleaved sessions, multi-line exceptions)."""
    return kt.gen_corpus(20000, str(tmp_path_factory.mktemp("corpus")))


@dataclass
class Env:
    tmp: str
    logs: str
    state: str
    shim: object

    def start(self, bootstrap, *extra):
        self.args = kt.shim_args(self.logs, self.state, bootstrap, "--no-summaries",
                                 "--checkpoint-interval-ms", str(CKPT_MS), *extra)
        return self.shim.start(*self.args, config_only=True)

    def restart(self):
        return self.shim.start(*self.args, config_only=True)

    def rejected(self):
        try:
            with open(os.path.join(self.state, "kafka-rejected.json")) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def wait_caught_up(self, timeout=120):
        wait_for(lambda: kt.caught_up(self.state, self.logs),
                 "the checkpoint to reach the end of every file", timeout,
                 on_timeout=lambda: f"checkpoint {kt.checkpoint(self.state)}\nstderr:\n"
                 + self.shim.stderr()[-3000:])

    def stats(self):
        """SIGUSR1, then the statistics it printed: (inflight, {file: read})."""
        n = self.shim.stderr().count("notice: stats:")
        self.shim.signal(signal.SIGUSR1)

        def block():
            text = self.shim.stderr()
            if text.count("notice: stats:") <= n:
                return None
            b = text[text.rfind("notice: stats:"):]
            files = int(re.search(r"files=(\d+)", b).group(1))
            reads = {m.group(1): int(m.group(2))
                     for m in re.finditer(r"stats: (\S+) read=(\d+)", b)}
            return (b, reads) if len(reads) == files else None
        b, reads = wait_for(block, "statistics on SIGUSR1")
        return int(re.search(r"inflight=(\d+)", b).group(1)), reads


@pytest.fixture
def env(tmp_path, shim_bin):
    tmp = str(tmp_path)
    logs, state = os.path.join(tmp, "logs"), os.path.join(tmp, "state")
    os.mkdir(logs)
    os.mkdir(state)
    shim = kt.run_helpers.Shim(shim_bin, tmp, logs, state, os.path.join(tmp, "unused"))
    try:
        yield Env(tmp, logs, state, shim)
    finally:
        shim.cleanup()


def copy_samples(logs):
    src = os.path.join(kt.REPO, "samples")
    for f in sorted(os.listdir(src)):
        if f.endswith(".log"):
            shutil.copy(os.path.join(src, f), logs)


def progress(env, fraction, total_bytes, timeout=60):
    """Wait until the checkpoint covers fraction of total_bytes."""
    wait_for(lambda: sum(kt.checkpoint(env.state).values()) >= fraction * total_bytes,
             f"{fraction:.0%} of the input delivered", timeout,
             on_timeout=lambda: env.shim.stderr()[-3000:])


def corpus_bytes(corpus):
    return sum(os.path.getsize(p) for p in corpus)


def sanitized(path):
    """Whether the binary was built with AddressSanitizer (make check-asan)."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def dups_past(delivery, ck):
    """Duplicates whose record lies before the checkpoint given (those the
    daemon had acknowledged, so must never send again)."""
    return [k for k in delivery.dups if k[1] < ck.get(os.path.basename(k[0]), 0)]


# ---- 1. basic -----------------------------------------------------------------

def test_basic_exactly_once(kafka, env, corpus, shim_bin):
    bs = kafka.start_single()
    copy_samples(env.logs)
    env.start(bs)
    w = kt.Appender(corpus, env.logs, rate=0, chunk=200)
    w.start()
    w.finish()
    env.wait_caught_up()
    assert env.shim.stop() == 0, env.shim.stderr()[-3000:]

    expected = kt.parse_events(shim_bin, kt.log_files(env.logs))
    assert len(expected) > 20000
    d = kt.Delivery(kt.consume(bs), expected)
    d.assert_complete(exactly_once=True, order=True)
    types = {e["smartermail"]["log_type"] for e in expected.values()}
    assert kt.topics(bs, "smartermail.") == sorted("smartermail." + t for t in types)
    assert len(types) == 6
    assert not env.rejected()


# ---- 2. the broker away for a minute ----------------------------------------

def test_broker_outage(kafka, env, corpus, shim_bin):
    bs = kafka.start_single()
    env.start(bs)
    pid = env.shim.proc.pid
    rss = kt.Sampler(lambda: kt.proc_status_kib(pid, "VmRSS") << 10, 0.25)
    ckpts = kt.Sampler(lambda: kt.checkpoint(env.state), 0.25)
    rss.start()
    ckpts.start()
    w = kt.Appender(corpus, env.logs, rate=400, chunk=20)
    w.start()
    progress(env, 0.1, corpus_bytes(corpus))

    kafka.stop()                        # returns once the JVM is gone
    t_down = time.monotonic()
    ck_down = kt.checkpoint(env.state)
    # The outage is what is tested: it lasts OUTAGE_S whatever happens.
    # Meanwhile the writer goes on, the window fills and reading pauses.
    full = None
    while full is None:
        # SIGUSR1 twice a second, not at every poll: each prints a block
        assert time.monotonic() < t_down + OUTAGE_S - 10, "the in-flight window never filled"
        if env.stats()[0] >= WINDOW:
            full = time.monotonic()
        else:
            time.sleep(0.5)
    _, reads_full = env.stats()
    while time.monotonic() < t_down + OUTAGE_S:
        time.sleep(0.5)
    inflight_end, reads_end = env.stats()
    t_up = time.monotonic()
    kafka.restart()

    # reading paused: nothing read while the window was full, though the
    # files grew
    assert inflight_end == WINDOW
    assert reads_end == reads_full
    sizes = {os.path.basename(p): os.path.getsize(p) for p in kt.log_files(env.logs)}
    assert any(sizes[f] > reads_end[f] for f in reads_end), (sizes, reads_end)
    # the checkpoint stood still from just after the stop to the restart
    cks = ckpts.between(t_down + 1.0, t_up)
    assert cks and all(c == cks[0] for c in cks), "checkpoint moved while the broker was away"
    # memory flat: under the bound, and no growth once reading paused
    down_rss = rss.between(t_down, t_up)
    paused_rss = rss.between(full + 1.0, t_up)
    print(f"\noutage: RSS max {max(down_rss) / 2**20:.1f} MiB, while paused "
          f"{min(paused_rss) / 2**20:.1f}..{max(paused_rss) / 2**20:.1f} MiB, "
          f"window full after {full - t_down:.1f} s")
    assert max(down_rss) < (RSS_BOUND_ASAN if sanitized(shim_bin) else RSS_BOUND)
    assert max(paused_rss) - min(paused_rss) < 2 << 20

    w.finish()
    env.wait_caught_up()
    assert env.shim.stop() == 0, env.shim.stderr()[-3000:]
    rss.stop()
    ckpts.stop()
    expected = kt.parse_events(shim_bin, kt.log_files(env.logs))
    d = kt.Delivery(kt.consume(bs), expected)
    print(f"outage: {d.summary()}")
    d.assert_complete(exactly_once=False, order=False)
    assert not dups_past(d, ck_down), "records acknowledged before the outage came twice"
    assert d.ndups <= WINDOW
    assert not env.rejected()


# ---- 3. kill -9 ----------------------------------------------------------------

def test_kill9_restart(kafka, env, corpus, shim_bin):
    bs = kafka.start_single()
    env.start(bs)
    w = kt.Appender(corpus, env.logs, rate=2000, chunk=50)
    w.start()
    progress(env, 0.3, corpus_bytes(corpus))
    env.shim.kill9()
    ck_kill = kt.checkpoint(env.state)
    env.restart()
    w.finish()
    env.wait_caught_up()
    assert env.shim.stop() == 0, env.shim.stderr()[-3000:]

    expected = kt.parse_events(shim_bin, kt.log_files(env.logs))
    d = kt.Delivery(kt.consume(bs), expected)
    print(f"\nkill -9: {d.summary()}")
    d.assert_complete(exactly_once=False, order=False)
    assert not dups_past(d, ck_kill), "records before the checkpoint came twice"
    # at most the window plus what one checkpoint interval acknowledged
    assert d.ndups <= WINDOW + 2000 * CKPT_MS // 1000


# ---- 4. a broker of three dies -----------------------------------------------

def leaders(bootstrap, prefix):
    md = json.loads(subprocess.run(["kcat", "-b", bootstrap, "-L", "-J"], capture_output=True,
                                   text=True, timeout=60, check=True).stdout)
    out = []
    for t in md["topics"]:
        if t["topic"].startswith(prefix):
            for p in t["partitions"]:
                out.append((t["topic"], p["partition"], p["leader"], len(p["replicas"])))
    return out


def test_cluster_broker_killed(kafka, env, corpus, shim_bin):
    bs = kafka.start_cluster()
    env.start(bs)
    w = kt.Appender(corpus, env.logs, rate=2000, chunk=50)
    w.start()
    progress(env, 0.3, corpus_bytes(corpus))
    parts = leaders(bs, "smartermail.")
    assert parts and all(rf == 3 for *_, rf in parts), parts
    # the node that leads the most partitions
    victim = max({ld for _, _, ld, _ in parts}, key=lambda n: sum(p[2] == n for p in parts))
    kafka.kill(kafka.node(victim))
    w.finish()
    env.wait_caught_up()
    assert env.shim.stop() == 0, env.shim.stderr()[-3000:]

    expected = kt.parse_events(shim_bin, kt.log_files(env.logs))
    d = kt.Delivery(kt.consume(bs), expected)
    print(f"\ncluster, node {victim} killed: {d.summary()}")
    d.assert_complete(exactly_once=True, order=True)
    assert all(ld != victim for _, _, ld, _ in leaders(bs, "smartermail."))


# ---- 5. a record no broker takes ------------------------------------------------

def smtp_line(tod_ms, session, text):
    h, rest = divmod(tod_ms, 3600000)
    return "%02d:%02d:%02d.%03d [203.0.113.9][%d] %s\r\n" % (
        h, rest // 60000, rest // 1000 % 60, rest % 1000, session, text)


@pytest.mark.parametrize("refused_by", ["broker", "producer"])
def test_permanent_error(kafka, env, shim_bin, refused_by):
    """The topic takes at most 2000 bytes a batch. 'broker': the producer
    does not know, batches the huge record with its neighbours and the
    broker refuses the batch; 'producer': message.max.bytes matches the
    topic, so librdkafka refuses the record before sending it."""
    bs = kafka.start_single()
    kafka.create_topic("smartermail.smtp", partitions=3, rf=1, max_message_bytes=2000)
    rnd = random.Random(5)
    huge = "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(20000))
    name = "2018.05.07-smtpLog.log"
    with open(os.path.join(kt.REPO, "samples", name), "rb") as f:
        before = f.read()
    # the records after it belong to the same session: same key, same
    # partition, so they travel in the huge record's batch
    after = "".join(smtp_line(83000000 + i * 10, 41200001, f"cmd: RCPT TO:<user{i}@example.com>")
                    for i in range(40))
    huge_line = smtp_line(82999999, 41200001, "cmd: DATA " + huge)
    extra = ["--max-record-bytes", "1M"]
    if refused_by == "producer":
        extra += ["--kafka-property", "message.max.bytes=2000"]
    env.start(bs, *extra)
    path = os.path.join(env.logs, name)
    with open(path, "wb") as f:
        f.write(before + huge_line.encode() + after.encode())
    huge_off = len(before)
    env.wait_caught_up(60)
    # then more, to show that the output goes on
    with open(path, "ab") as f:
        f.write("".join(smtp_line(83100000 + i, 41200002, f"cmd: NOOP {i}")
                        for i in range(20)).encode())
    env.wait_caught_up(60)
    assert env.shim.stop() == 0, env.shim.stderr()[-3000:]

    expected = kt.parse_events(shim_bin, kt.log_files(env.logs), extra=["--max-record-bytes", "1M"])
    huge_ev = expected.pop((path, huge_off))
    rej = env.rejected()
    assert len(rej) == 1, [r["reason"] for r in rej]
    assert rej[0]["reason"] == "Broker: Message size too large"
    assert rej[0]["topic"] == "smartermail.smtp"
    assert rej[0]["event"] == huge_ev
    assert "kafka: an event was refused for good" in env.shim.stderr()
    d = kt.Delivery(kt.consume(bs), expected)
    print(f"\npermanent ({refused_by}): {d.summary()}")
    # a batch the broker refused for its size is sent again one record at a
    # time, after what followed it: order is not kept there
    d.assert_complete(exactly_once=True, order=False)
