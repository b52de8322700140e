#!/usr/bin/env python3
"""make bench: throughput of `smartermail-shim parse` on a generated corpus,
side by side with lognormalizer (liblognorm) on the same lines, and the
encoder comparison (our JSON writer against a libfastjson tree per event).

Every figure is the median of RUNS runs, all taken in this one run so that
ratios compare like with like on a noisy machine. Prints a table; with
--markdown FILE also writes it as Markdown (docs/benchmarks.md quotes it).
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, Linux {platform.release()}"


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


def median_runs(fn, runs):
    res = [fn() for _ in range(runs)]
    return tuple(statistics.median(r[i] for r in res) for i in range(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "build", "bench", "corpus"))
    ap.add_argument("--markdown")
    a = ap.parse_args()

    shim = os.path.join(ROOT, "smartermail-shim")
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

    zone = ["--timezone", "America/Chicago", "--host-name", "mail01"]
    rows = []

    def row(name, recs, nbytes, res):
        wall, cpu, rss = res
        rows.append((name, recs / wall, recs / cpu, nbytes / wall / 2**20, cpu, rss))

    row("shim parse, ECS (SMTP + delivery)", records, total_bytes,
        median_runs(lambda: run([shim, "parse", *zone, *files]), a.runs))
    row("shim parse, ECS (SMTP only)", smtp_records, smtp_bytes,
        median_runs(lambda: run([shim, "parse", *zone, *smtp]), a.runs))
    row("shim parse, GELF (SMTP + delivery)", records, total_bytes,
        median_runs(lambda: run([shim, "parse", *zone, "--encoding", "gelf", *files]), a.runs))
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
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
