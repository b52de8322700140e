# SPDX-License-Identifier: MIT
"""What the benchmarks share (tests/bench/bench.py,
tests/receivers/bench_outputs.py): the machine they ran on, a running
process's CPU time and peak RSS from /proc, and the median of each column of
several runs."""

import os
import platform
import statistics


def machine(memory=True):
    """CPU model, cores, RAM (unless memory=False) and the kernel release,
    for the line under a results table."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    if memory:
        mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    return f"{model}, {os.cpu_count()} cores{mem}, Linux {platform.release()}"


def proc_cpu_s(pid):
    """utime + stime of a running process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, field):
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...); 0 when not told."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_hwm_mib(pid):
    """Peak RSS (VmHWM) of a running process, in MiB; 0.0 when not told."""
    return proc_status_kib(pid, "VmHWM") / 1024


def medians(results):
    """The median of each column of results (a list of equal-length
    tuples, one per run)."""
    return tuple(statistics.median(col) for col in zip(*results))


def median_runs(fn, runs):
    """Call fn() runs times; the median of each column of what it returns."""
    return medians([fn() for _ in range(runs)])
