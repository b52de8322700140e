# SPDX-License-Identifier: MIT
"""Fixtures for the deploy/ checks: the binary ($SHIM, else the build's),
and a runner that returns (exit status, stdout, stderr) as text."""

import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session")
def shim():
    path = os.path.abspath(os.environ.get("SHIM", os.path.join(REPO, "smartermail-shim")))
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path}: no binary (run make, or set SHIM)")
    return path


@pytest.fixture(scope="session")
def run(shim):
    def _run(*args, stdin=None, timeout=60):
        r = subprocess.run([shim, *args], input=stdin, capture_output=True, text=True,
                           timeout=timeout, cwd=REPO)
        return r.returncode, r.stdout, r.stderr
    return _run
