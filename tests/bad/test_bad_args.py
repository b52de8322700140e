# SPDX-License-Identifier: MIT
"""Bad and odd command lines: each gives the exit status base/exit.h names
(0 done, 1 an input or output failed, 2 usage) and says something on
standard error when it is not 0. Nothing here reads a config file or
follows a directory.

    SHIM=path/to/smartermail-shim /usr/bin/python3 -m pytest -q tests/bad"""

import os
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIM = os.path.abspath(os.environ.get("SHIM", os.path.join(REPO, "smartermail-shim")))
MAPPINGS = os.path.join(REPO, "mappings")
SAMPLE = os.path.join(REPO, "samples", "2018.05.07-delivery.log")

CASES = [
    ([], 2),
    (["bogus"], 2),
    (["--bogus"], 2),
    (["--help"], 0),
    (["-h"], 0),
    (["--version"], 0),
    (["--config-template", "extra"], 2),
    (["--man-options"], 2),
    (["parse"], 2),
    (["parse", "--bogus", SAMPLE], 2),
    (["parse", "--date", "2026.13.01", SAMPLE], 2),
    (["parse", "--timezone", "Nowhere/Else", SAMPLE], 2),
    (["parse", "--mappings", MAPPINGS, "/nonexistent/2026.03.08-smtpLog.log"], 1),
    (["parse", "--help"], 0),
    (["search"], 2),
    (["search", "--count", "--related", "x", SAMPLE], 2),
    (["search", "--from", "2026-02-30", "x", SAMPLE], 2),
    (["search", "--from", "2026-03-09", "--to", "2026-03-08", "x", SAMPLE], 2),
    (["search", "--help"], 0),
    (["report", "--to", "soon", SAMPLE], 2),
    (["report", "--help"], 0),
    (["fields", "--bogus"], 2),
    (["run", "extra"], 2),
    (["check-config"], 2),
    (["check-config", "/nonexistent.conf"], 2),
]


def case_id(v):
    return " ".join(v) if isinstance(v, list) else str(v)


@pytest.mark.parametrize("args,status", CASES, ids=case_id)
def test_exit_status(args, status):
    r = subprocess.run([SHIM] + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert r.returncode == status, r.stderr.decode(errors="replace")
    if status:
        assert r.stderr, "a failure says why on standard error"
