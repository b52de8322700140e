#!/usr/bin/env python3
"""make bench: throughput of `smartermail-shim parse` on a generated corpus,
side by side with lognormalizer (liblognorm) on the same lines, and the
encoder comparison (our JSON writer against a libfastjson tree per event).

Every figure is the median of RUNS runs, all taken in this one run so that
ratios compare like with like on a noisy machine. With --baseline BINARY
(a build of the previous commit) every shim row is measured for that binary
too, its runs alternating with this binary's, and a table of ratios says
whether a step got slower. Prints a table; with --markdown FILE also writes
it as Markdown (docs/benchmarks.md quotes it).
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from benchutil import machine, median_runs, proc_cpu_s, proc_hwm_mib  # noqa: E402


def run(cmd, stdin=None, stdout=subprocess.DEVNULL):
    """Run cmd under /usr/bin/time; return (wall s, cpu s, peak RSS MiB) of
    that command alone (not of a forked copy of this Python process)."""
    tf = os.path.join(ROOT, "build", "bench", "time.out")
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf, *cmd],
                       stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {p.stderr.decode(errors='replace')}")
    wall, user, sys_, rss_kb = open(tf).read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss_kb) / 1024


def follow_throughput(shim, files, records, tmp):
    """run --from beginning over a pre-written corpus into a file; time
    until every record is in the output (counted there)."""
    import shutil
    logs, state, out = (os.path.join(tmp, d) for d in ("logs", "state", "out.json"))
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(logs)
    os.makedirs(state)
    for f in files:
        os.link(f, os.path.join(logs, os.path.basename(f)))
    t0 = time.monotonic()
    p = subprocess.Popen([shim, "run", "--allow-root", "--logs", logs, "--state", state, "--from", "beginning",
                          "--output", "file:" + out, "--timezone", "America/Chicago",
                          "--host-name", "mail01", "--stats-interval-s", "0", "--no-summaries",
                          "--checkpoint-interval-ms", "10"],
                         stderr=subprocess.DEVNULL)
    # done when the checkpoint has every file at its full size (cheap to
    # poll, unlike counting lines of a growing output)
    import json
    sizes = {os.path.basename(f): os.path.getsize(f) for f in files}
    ckpt = os.path.join(state, "checkpoint.json")
    deadline = t0 + 600
    done = False
    while time.monotonic() < deadline and not done:
        time.sleep(0.01)
        try:
            with open(ckpt) as f:
                got = {e["name"]: e["offset"] for e in json.load(f)["files"]}
        except (FileNotFoundError, ValueError):
            continue
        done = all(got.get(k) == v for k, v in sizes.items())
    wall = time.monotonic() - t0
    cpu = proc_cpu_s(p.pid)
    rss = proc_hwm_mib(p.pid)
    p.terminate()
    p.wait()
    with open(out, "rb") as f:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    if n != records:
        sys.exit(f"bench: follow mode emitted {n} of {records} records")
    return wall, cpu, rss


def follow_steady(shim, tmp, seconds, rate=100):
    """A writer appends `rate` records/s for `seconds`; measure the daemon's
    CPU and peak RSS over that time, and each record's latency from the end
    of its write() to its line on the daemon's standard output."""
    import shutil
    import threading
    logs, state = os.path.join(tmp, "logs"), os.path.join(tmp, "state")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(logs)
    os.makedirs(state)
    path = os.path.join(logs, "2026.03.10-smtpLog.log")
    open(path, "wb").close()
    p = subprocess.Popen([shim, "run", "--allow-root", "--logs", logs, "--state", state, "--output", "stdout",
                          "--timezone", "America/Chicago", "--host-name", "mail01",
                          "--stats-interval-s", "0", "--no-original", "--no-summaries"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    written = {}
    arrived = {}

    def reader():
        for line in p.stdout:
            i = line.find(b"[id-")
            if i >= 0:
                key = line[i + 4:line.index(b"]", i)].decode()
                arrived[key] = time.monotonic()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(0.5)
    cpu0 = proc_cpu_s(p.pid)
    t0 = time.monotonic()
    total = int(seconds * rate)
    with open(path, "ab", buffering=0) as f:
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            h, m, s = 10, (i // 60000) % 60, (i // 1000) % 60
            f.write(f"{h:02}:{m:02}:{s:02}.{i % 1000:03} [203.0.113.9][4120{i % 97}] "
                    f"cmd: NOOP [id-{i}]\r\n".encode())
            written[str(i)] = time.monotonic()
    elapsed = time.monotonic() - t0
    cpu = proc_cpu_s(p.pid) - cpu0
    deadline = time.monotonic() + 5
    while len(arrived) < total and time.monotonic() < deadline:
        time.sleep(0.02)
    rss = proc_hwm_mib(p.pid)
    p.terminate()
    p.wait()
    lat = sorted((arrived[k] - written[k]) * 1000 for k in written if k in arrived)
    if not lat:
        sys.exit("bench: no record reached the output in the steady-rate run")
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return cpu / elapsed * 100, rss, p50, p99, len(lat), total


def search_corpus(files, tmp, gib):
    """Copies of the corpus under later dates until the set holds gib GiB
    (real copies, not links, so the page cache holds what a real log
    directory of that size would). Returns (files, bytes, records)."""
    import datetime
    import shutil
    stamp = os.path.join(tmp, f".gib-{gib}-{len(files)}")
    if not os.path.exists(stamp):
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        days = sorted({os.path.basename(f)[:10] for f in files})
        total, day = 0, datetime.date(2026, 4, 1)
        while total < gib * 2**30:
            for src_day in days:
                for f in files:
                    name = os.path.basename(f)
                    if name[:10] != src_day:
                        continue
                    dst = os.path.join(tmp, day.strftime("%Y.%m.%d") + name[10:])
                    shutil.copyfile(f, dst)
                    total += os.path.getsize(dst)
                day += datetime.timedelta(days=1)
        open(stamp, "w").close()
    out = sorted(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".log"))
    nbytes = sum(os.path.getsize(f) for f in out)
    records = 0
    for f in out:
        with open(f, "rb") as inp:
            for line in inp:
                c = line[:1]
                records += c.isdigit() or c == b"["
    return out, nbytes, records


def search_bench(shim, files, runs, gib):
    """search over a GiB-sized log directory beside `grep -c` on the same
    files (the floor: it reads every byte and counts lines). Plain strings,
    a rare and a common one; records/s = records in the corpus / wall s."""
    tmp = os.path.join(ROOT, "build", "bench", "search")
    sfiles, nbytes, records = search_corpus(files, tmp, gib)
    for f in sfiles:                    # warm the page cache for both
        with open(f, "rb") as inp:
            while inp.read(1 << 24):
                pass
    lines = [f"search over {nbytes / 2**30:.2f} GiB ({len(sfiles)} files, {records:,} records), "
             f"median of {runs} runs, page cache warm:", "",
             "| run | wall s | records/s | MiB/s | vs grep -c |", "|---|---:|---:|---:|---:|"]
    # output to a file, never /dev/null: GNU grep stops at the first match
    # when its output is /dev/null
    sink = os.path.join(ROOT, "build", "bench", "search.out")

    def timed(cmd):
        with open(sink, "wb") as out:
            return run(cmd, stdout=out)

    for pat, what in (("admin@", "rare string"), ("gmail.com", "common string")):
        grep = median_runs(lambda: timed(["grep", "-c", "-F", pat, *sfiles]), runs)
        cases = [(f"grep -c -F {pat} ({what})", grep),
                 (f"search --count {pat}", median_runs(
                     lambda: timed([shim, "search", "--logs", tmp, "--count", pat]), runs)),
                 (f"search {pat} (records printed)", median_runs(
                     lambda: timed([shim, "search", "--logs", tmp, pat]), runs)),
                 (f"search --ignore-case --count {pat}", median_runs(
                     lambda: timed([shim, "search", "--logs", tmp, "-i", "--count", pat]), runs))]
        for name, (wall, cpu, rss) in cases:
            lines.append(f"| {name} | {wall:.2f} | {records / wall:,.0f} | "
                         f"{nbytes / wall / 2**20:,.0f} | {wall / grep[0]:.2f}x |")
    rel = median_runs(lambda: timed([shim, "search", "--logs", tmp, "--related", "admin@"]), 1)
    lines.append(f"| search --related admin@ (reads each file twice) | {rel[0]:.2f} | "
                 f"{records / rel[0]:,.0f} | {nbytes / rel[0] / 2**20:,.0f} | |")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "build", "bench", "corpus"))
    ap.add_argument("--markdown")
    ap.add_argument("--steady-seconds", type=float, default=60)
    ap.add_argument("--search-gib", type=float, default=1.0,
                    help="size of the log directory the search benchmark reads")
    ap.add_argument("--only", choices=("search",),
                    help="run one section only (the corpus is still made)")
    ap.add_argument("--shim", default=os.path.join(ROOT, "smartermail-shim"))
    ap.add_argument("--baseline", help="a previous binary to measure side by side")
    a = ap.parse_args()

    shim = os.path.abspath(a.shim)
    base = os.path.abspath(a.baseline) if a.baseline else None
    corpus = a.corpus
    stamp = os.path.join(corpus, f".records-{a.records}")
    if not os.path.exists(stamp):
        subprocess.run(["rm", "-rf", corpus], check=True)
        os.makedirs(corpus)
        out = subprocess.run([sys.executable, os.path.join(HERE, "gen_corpus.py"),
                              "--records", str(a.records), "--out", corpus],
                             check=True, capture_output=True, text=True).stdout
        with open(stamp, "w") as f:
            f.write(out)
    info = dict(kv.split("=") for kv in open(stamp).read().split()[-3:])
    records = int(info["records"])
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus) if f.endswith(".log"))
    smtp = [f for f in files if f.endswith("-smtpLog.log")]
    total_bytes = sum(os.path.getsize(f) for f in files)
    joined = os.path.join(corpus, "all.txt")
    if not os.path.exists(joined):
        with open(joined, "wb") as out:
            for f in files:
                with open(f, "rb") as inp:
                    out.write(inp.read())
    smtp_records = sum(1 for f in smtp for line in open(f, "rb") if line[:1].isdigit() or line[:1] == b"[")
    smtp_bytes = sum(os.path.getsize(f) for f in smtp)

    if a.only == "search":
        print("\n".join(search_bench(shim, files, a.runs, a.search_gib)))
        return

    # records alone, as lognormalizer does them; one row adds the summaries
    zone = ["--timezone", "America/Chicago", "--host-name", "mail01", "--no-summaries"]
    rows = []

    side = []   # (step, this binary's CPU s, the baseline's CPU s)

    def row(name, recs, nbytes, res):
        wall, cpu, rss = res
        rows.append((name, recs / wall, recs / cpu, nbytes / wall / 2**20, cpu, rss))

    def both(name, recs, nbytes, args):
        """a shim row, and with --baseline the same row for that binary,
        their runs alternating"""
        if not base:
            row(name, recs, nbytes, median_runs(lambda: run([shim, *args]), a.runs))
            return
        mine, theirs = [], []
        for _ in range(a.runs):
            mine.append(run([shim, *args]))
            theirs.append(run([base, *args]))
        med = [sorted(x[i] for x in mine)[len(mine) // 2] for i in range(3)]
        bmed = [sorted(x[i] for x in theirs)[len(theirs) // 2] for i in range(3)]
        row(name, recs, nbytes, med)
        row(name + " [previous binary]", recs, nbytes, bmed)
        side.append((name, med[1], bmed[1]))

    both("shim parse, ECS (SMTP + delivery)", records, total_bytes, ["parse", *zone, *files])
    both("shim parse, ECS (SMTP only)", smtp_records, smtp_bytes, ["parse", *zone, *smtp])
    both("shim parse, ECS + session summaries (SMTP + delivery)", records, total_bytes,
         ["parse", *zone[:-1], *files])
    both("shim parse, GELF (SMTP + delivery)", records, total_bytes,
         ["parse", *zone, "--encoding", "gelf", *files])
    lognorm = None
    if subprocess.run(["sh", "-c", "command -v lognormalizer"], capture_output=True).returncode == 0:
        def ln():
            with open(joined, "rb") as inp:
                return run(["lognormalizer", "-r", os.path.join(HERE, "smartermail.rulebase"),
                            "-e", "json"], stdin=inp)
        lognorm = median_runs(ln, a.runs)
        row("lognormalizer -e json (same lines)", records, total_bytes, lognorm)

    enc = subprocess.run([os.path.join(ROOT, "build", "bench", "encode_cmp"),
                          os.path.join(ROOT, "mappings"), "America/Chicago", *smtp],
                         check=True, capture_output=True, text=True).stdout
    encd = {l.split()[0]: float(l.split()[1]) for l in enc.splitlines() if l.split()[0] in ("writer", "tree")}

    lines = []
    lines.append(f"Machine: {machine()}")
    lines.append(f"Corpus: {records} records, {total_bytes / 2**20:.1f} MiB "
                 f"({len(files)} files, both line forms); median of {a.runs} runs")
    lines.append("")
    lines.append("| run | records/s (wall) | records per CPU-second | MiB/s | CPU s | peak RSS MiB |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    for name, rps, rpc, mbs, cpu, rss in rows:
        lines.append(f"| {name} | {rps:,.0f} | {rpc:,.0f} | {mbs:.1f} | {cpu:.2f} | {rss:.1f} |")
    lines.append("")
    if lognorm:
        ratio = rows[0][2] / (records / lognorm[1])
        lines.append(f"shim / lognormalizer, records per CPU-second: {ratio:.2f}x")
    lines.append(f"encode step alone (SMTP files, ECS): our writer {encd['writer']:,.0f} events/s, "
                 f"libfastjson tree + dump {encd['tree']:,.0f} events/s "
                 f"({encd['writer'] / encd['tree']:.1f}x)")
    tmp = os.path.join(ROOT, "build", "bench", "follow")
    bins = [("", shim)] + ([(" [previous binary]", base)] if base else [])
    fols = {}
    for _ in range(a.runs):
        for tag, b in bins:
            fols.setdefault(tag, []).append(follow_throughput(b, files, records, tmp))
    for tag, b in bins:
        fol = [sorted(x[i] for x in fols[tag])[len(fols[tag]) // 2] for i in range(3)]
        fols[tag] = fol
        lines.append("")
        lines.append(f"follow mode{tag} (run --from beginning over the corpus into a file): "
                     f"{records / fol[0]:,.0f} records/s, {records / fol[1]:,.0f} records per CPU-second, "
                     f"peak RSS {fol[2]:.1f} MiB")
    if base:
        side.append(("run --from beginning into a file", fols[""][1], fols[bins[1][0]][1]))
    steady = {}
    for tag, b in bins:
        cpu_pct, rss, p50, p99, got, total = follow_steady(b, tmp, a.steady_seconds)
        steady[tag] = cpu_pct
        lines.append(f"follow mode{tag} at a steady 100 records/s for {a.steady_seconds:.0f} s: "
                     f"CPU {cpu_pct:.2f}% of one core, peak RSS {rss:.1f} MiB; "
                     f"write-to-output latency p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                     f"({got} of {total} records timed, inotify)")
    if base:
        side.append(("run at a steady 100 records/s (CPU %)", steady[""], steady[bins[1][0]]))
        lines.append("")
        lines.append("Side by side with the previous binary (CPU seconds, lower is better; "
                     "ratio = this / previous):")
        lines.append("")
        lines.append("| step | this binary | previous binary | ratio |")
        lines.append("|---|---:|---:|---:|")
        for name, mine, theirs in side:
            lines.append(f"| {name} | {mine:.2f} | {theirs:.2f} | {mine / theirs:.2f} |")
    lines.append("")
    lines.extend(search_bench(shim, files, a.runs, a.search_gib))
    if base:
        lines.append("")
        lines.append("The same for the previous binary:")
        lines.append("")
        lines.extend(search_bench(base, files, a.runs, a.search_gib))
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
