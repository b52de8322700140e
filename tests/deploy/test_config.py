# SPDX-License-Identifier: MIT
"""The config file that `make install` puts in /etc, and check-config: the
file's generated part is the option table's (every key, its default), each
commented default loads as that default, every problem in a file is named
as FILE:LINE: KEY: PROBLEM with exit 2, and the effective settings it
prints load back to themselves, secrets left out."""

import os
import re

import pytest

from conftest import REPO

CONF = os.path.join(REPO, "deploy", "smartermail-shim.conf")
BEGIN, END = "# -- generated: begin\n", "# -- generated: end\n"
MAPPINGS = f"\nmappings = {REPO}/mappings\n"


def generated_part():
    text = open(CONF, encoding="utf-8").read()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{CONF}: markers missing"
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def write(tmp_path, text, name="shim.conf"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def settings(stdout):
    """The effective settings without check-config's first comment line."""
    lines = stdout.splitlines()
    assert lines and lines[0].startswith("# "), stdout
    return lines[1:]


def test_generated_part_is_the_option_table(run):
    rc, out, err = run("--config-template")
    assert rc == 0, err
    assert generated_part() == out, (
        f"{CONF} is out of date: replace the part between the markers with the output "
        "of `smartermail-shim --config-template`")


def test_installed_config_is_valid(run, tmp_path):
    # the mappings line: a build tree's binary does not find installed ones
    path = write(tmp_path, open(CONF, encoding="utf-8").read() + MAPPINGS)
    rc, out, err = run("check-config", path)
    assert rc == 0, err
    assert "output = journald" in settings(out)
    assert err == ""


def test_each_commented_default_loads_as_the_default(run, tmp_path):
    uncommented = re.sub(r"(?m)^#([a-z0-9-]+ =)", r"\1", generated_part())
    assert uncommented.count(" =") >= 30
    rc, out, err = run("check-config", write(tmp_path, uncommented + MAPPINGS, "all.conf"))
    assert rc == 0, err
    rc, base, err = run("check-config", write(tmp_path, MAPPINGS, "empty.conf"))
    assert rc == 0, err
    assert settings(out) == settings(base)


def test_settings_load_back_to_themselves(run, tmp_path):
    text = MAPPINGS + "\n".join([
        'syslog-app-name = "  two spaces # and a hash"',
        'host-name = "quoted"inside"',
        "types = smtpLog,delivery",
        "max-inflight-bytes = 32M",
        "kafka.compression.type = lz4",
        "kafka-property = client.id=mail01",
        "syslog-tls-verify = no",
        "encoding = gelf",
    ]) + "\n"
    rc, first, err = run("check-config", write(tmp_path, text, "a.conf"))
    assert rc == 0, err
    assert 'syslog-app-name = "  two spaces # and a hash"' in settings(first)
    assert "max-inflight-bytes = 33554432" in settings(first)
    assert "kafka.compression.type = lz4" in settings(first)
    assert "kafka.client.id = mail01" in settings(first)
    rc, second, err = run("check-config", write(tmp_path, first, "b.conf"))
    assert rc == 0, err
    assert settings(second) == settings(first)


def test_secrets_are_not_printed(run, tmp_path):
    text = MAPPINGS + ("kafka.sasl.password = hunter2\nkafka.ssl.key.password = hunter3\n"
                       "kafka.sasl.username = shim\n")
    rc, out, err = run("check-config", write(tmp_path, text))
    assert rc == 0, err
    assert "hunter" not in out
    assert "# kafka.sasl.password = (hidden)" in settings(out)
    assert "# kafka.ssl.key.password = (hidden)" in settings(out)
    assert "kafka.sasl.username = shim" in settings(out)


# one bad line each: what check-config must say about it
BAD = [
    ("bogus = 1", "bogus: unknown key"),
    ("encoding = xml", "encoding: 'xml' is not one of ecs|flat|gelf"),
    ("poll-interval-ms = 49", "poll-interval-ms: 49 is out of range (50 to 3600000)"),
    ("poll-interval-ms = 3600001", "poll-interval-ms: 3600001 is out of range (50 to 3600000)"),
    ("original = maybe", "original: 'maybe' is not true or false"),
    ("max-record-bytes = 12Q", "max-record-bytes: '12Q' is not a size (a number, optionally with K, M or G)"),
    ("just words", "expected key = value"),
    ('syslog-app-name = "open', "syslog-app-name: unterminated quote"),
    ("config = /etc/other.conf", "config: unknown key"),
    ("help = true", "help: unknown key"),
    ("kafka-property = novalue", "kafka-property: 'novalue' is not NAME=VALUE"),
]


def test_every_problem_is_named_with_file_and_line(run, tmp_path):
    lines = ["# a comment", "logs = /srv/logs"] + [line for line, _ in BAD]
    path = write(tmp_path, "\n".join(lines) + "\n")
    rc, out, err = run("check-config", path)
    assert rc == 2
    assert out == ""
    for i, (line, problem) in enumerate(BAD):
        want = f"smartermail-shim: {path}:{i + 3}: {problem}"
        assert want in err.splitlines(), f"no {want!r} in:\n{err}"


@pytest.mark.parametrize("text,problem", [
    ("timezone = Mars/Olympus\n", "unknown zone 'Mars/Olympus'"),
    ("mappings = /nonexistent\n", "mappings: /nonexistent: No such file or directory"),
])
def test_settings_that_load_but_cannot_run(run, tmp_path, text, problem):
    rc, out, err = run("check-config", write(tmp_path, MAPPINGS + text))
    assert rc == 2, out
    assert problem in err


def test_usage_errors(run, tmp_path):
    assert run("check-config")[0] == 2
    assert run("check-config", "a", "b")[0] == 2
    rc, out, err = run("check-config", str(tmp_path / "missing.conf"))
    assert rc == 2
    assert "missing.conf: cannot read the config file: No such file or directory" in err
    rc, out, err = run("check-config", "--help")
    assert rc == 0 and "check-config FILE" in out


def test_deploy_snippets_are_valid(run, tmp_path):
    """Every smartermail-shim*.conf under deploy/ (the settings each pipeline
    example tells users to merge) loads."""
    found = 0
    for root, _, files in os.walk(os.path.join(REPO, "deploy")):
        for f in files:
            if f.startswith("smartermail-shim") and f.endswith(".conf"):
                found += 1
                text = open(os.path.join(root, f), encoding="utf-8").read()
                rc, out, err = run("check-config", write(tmp_path, text + MAPPINGS, f))
                assert rc == 0, f"{os.path.join(root, f)}:\n{err}"
    assert found >= 6
