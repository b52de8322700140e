#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Kafka output benchmark: a pre-written corpus (tests/bench/gen_corpus.py)
read by `smartermail-shim run --output kafka` into one local broker
(tests/kafka/kafka-harness.sh), counted as it arrives by one kcat consumer
per topic.

For each compression codec asked for (--codecs, default lz4, the shipped
default) and each run it reports:
  events/s        records / (time from starting the daemon to the last record
                  read by the consumers)
  CPU/100k        the daemon's user+system CPU (/proc/PID/stat; librdkafka's
                  threads, where compression happens, included) per 100k events
  peak RSS        VmHWM of the daemon
  stored          bytes of the topics' log segments on the broker (.log files:
                  the record batches as stored), and the ratio of the JSON
                  values' bytes to them
Each codec writes to topics of its own (bench-CODEC.{type}) on the same broker.
With several runs the table shows the median of each column.

With --rate R the corpus is not pre-written but appended while the daemon
runs, at R records a second, as a busy server writes it: events/s is then
the rate, and CPU and the compression ratio are those of a live stream (small
batches, which compress worse than the large ones of a backlog).

Usage: bench_kafka.py [--records N] [--codecs lz4,zstd,snappy,none] [--runs N]
                      [--rate R] [--markdown FILE]
The daemon is $SHIM, else ./smartermail-shim (built with make when missing).
The broker is stopped at the end, whatever happens."""

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafkatest as kt  # noqa: E402

DEADLINE_S = 600


def shim_binary():
    path = os.environ.get("SHIM")
    if path:
        return os.path.abspath(path)
    path = os.path.join(kt.REPO, "smartermail-shim")
    if not os.path.exists(path):
        subprocess.run(["make", "-s", "smartermail-shim"], cwd=kt.REPO, check=True)
    return path


class Counter(threading.Thread):
    """kcat reading one topic from the beginning, forever; counts messages
    (one output line each) and remembers when the count last changed."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        self.n = 0
        self.last = None
        self.proc = subprocess.Popen(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning",
                                      "-q", "-u", "-f", "\\n"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)

    def run(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self.n += chunk.count(b"\n")
            self.last = time.monotonic()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def one_run(shim, bootstrap, files, tmp, codec, records, run, rate):
    prefix = f"bench-{codec}-{run}."
    logs = os.path.dirname(files[0])
    if rate:
        logs = os.path.join(tmp, f"logs-{codec}-{run}")
        os.mkdir(logs)
    topics = [prefix + t for t in ("smtp", "delivery")]
    # the consumers start before the daemon, on topics made for them
    for t in topics:
        kt.ensure_topic(bootstrap, t)
    counters = [Counter(bootstrap, t) for t in topics]
    for c in counters:
        c.start()
    state = os.path.join(tmp, f"state-{codec}-{run}")
    os.mkdir(state)
    args = kt.shim_args(logs, state, bootstrap, "--no-summaries", "--kafka-topic",
                        prefix + "{type}", "--kafka-property", f"compression.codec={codec}")
    err = open(os.path.join(tmp, f"stderr-{codec}-{run}.txt"), "wb")
    t0 = time.monotonic()
    p = subprocess.Popen([shim, "run", "--allow-root", *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    writer = None
    if rate:
        writer = kt.Appender(files, logs, rate=rate, chunk=max(1, rate // 100))
        writer.start()
    try:
        kt.wait_for(lambda: sum(c.n for c in counters) >= records or p.poll() is not None
                    or any(c.proc.poll() is not None for c in counters),
                    f"{records} records at the consumers", DEADLINE_S)
        assert p.poll() is None, f"the daemon exited ({p.returncode})"
        assert all(c.proc.poll() is None for c in counters), "a consumer (kcat) exited"
        t_end = max(c.last for c in counters if c.last)
        cpu = kt.proc_cpu_s(p.pid)
        hwm = kt.proc_status_kib(p.pid, "VmHWM") * 1024
    finally:
        if writer:
            writer.halt.set()
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(60)
        for c in counters:
            c.stop()
        err.close()
    got = sum(c.n for c in counters)
    assert got == records, f"{got} records at the consumers, want {records}"
    return {"eps": records / (t_end - t0), "cpu100k": cpu / records * 1e5, "hwm": hwm,
            "stored": None, "prefix": prefix}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--codecs", default="lz4")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    shim = shim_binary()
    codecs = a.codecs.split(",")
    tmp = tempfile.mkdtemp(prefix="bench-kafka.")
    brokers = kt.Brokers(os.path.join(tmp, "kafka"))
    try:
        files = kt.gen_corpus(a.records, os.path.join(tmp, "logs"))
        # what parse writes is what each message's value holds (plus a newline)
        out = subprocess.run([shim, "parse", "--mappings", kt.MAPPINGS, "--no-summaries",
                              "--timezone", kt.TZ, "--host-name", kt.HOST, *files],
                             capture_output=True, check=True).stdout
        records = out.count(b"\n")
        value_bytes = len(out) - records
        del out
        corpus_bytes = sum(os.path.getsize(f) for f in files)
        t = time.monotonic()
        bs = brokers.start_single()
        print(f"broker up in {time.monotonic() - t:.1f} s; {records} records, "
              f"{corpus_bytes / 2**20:.1f} MiB of logs, {value_bytes / 2**20:.1f} MiB of JSON",
              file=sys.stderr)
        # the first idempotent producer on a fresh broker waits for its
        # producer id: take that wait here, not in the first measurement
        subprocess.run(["kcat", "-P", "-b", bs, "-t", "bench-warmup", "-X", "enable.idempotence=true"],
                       input=b"warm-up\n", check=True, timeout=120)
        results = {c: [] for c in codecs}
        for run in range(a.runs):
            for codec in codecs:
                r = one_run(shim, bs, files, tmp, codec, records, run, a.rate)
                kt.wait_for(lambda: brokers.topic_bytes(r["prefix"]) > 0, "segments on disk")
                r["stored"] = brokers.topic_bytes(r["prefix"])
                results[codec].append(r)
                print(f"run {run + 1} {codec}: {r['eps']:.0f} events/s", file=sys.stderr)
    except BaseException:
        print(f"bench-kafka: failed; files kept in {tmp}", file=sys.stderr)
        raise
    finally:
        brokers.stop()
    cpu_model = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                               capture_output=True, text=True).stdout.strip()
    how = f"appended at {a.rate} records/s" if a.rate else "pre-written"
    head = (f"Kafka output: {records} records ({corpus_bytes / 2**20:.1f} MiB of logs, "
            f"{value_bytes / 2**20:.1f} MiB of JSON values), {how}, into one local broker, "
            f"median of {a.runs} run(s)\n{cpu_model}, {os.cpu_count()} cores, "
            f"Linux {platform.release()}\n")
    cols = ["codec", "events/s", "CPU s/100k", "peak RSS MiB", "stored MiB", "JSON/stored"]
    rows = []
    for codec in codecs:
        rs = results[codec]
        med = {k: statistics.median(r[k] for r in rs) for k in ("eps", "cpu100k", "hwm", "stored")}
        rows.append([codec, f"{med['eps']:.0f}", f"{med['cpu100k']:.2f}",
                     f"{med['hwm'] / 2**20:.1f}", f"{med['stored'] / 2**20:.2f}",
                     f"{value_bytes / med['stored']:.1f}"])
    widths = [max(len(str(x)) for x in col) for col in zip(cols, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) for x, w in zip(r, widths))  # noqa: E731
    text = head + line(cols) + "\n" + "\n".join(line(r) for r in rows)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(head.replace("\n", "  \n") + "\n| " + " | ".join(cols) + " |\n|"
                    + "---|" * len(cols) + "\n")
            for r in rows:
                f.write("| " + " | ".join(r) + " |\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
