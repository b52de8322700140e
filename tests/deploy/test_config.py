# SPDX-License-Identifier: MIT
"""The config file that `make install` puts in /etc, and check-config: the
file's generated part is the option table's (every key, its default), each
commented default loads as that default, every problem in a file is named
as FILE:LINE: KEY: PROBLEM with exit 2 (the outputs' settings too: the
syslog target and TLS files, Kafka properties, checked without
connecting), and the effective settings it prints load back to
themselves, secrets left out whatever their spelling."""

import os
import re
import shutil
import signal
import subprocess
import time

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
                       "kafka.SASL.Password = hunter4\nkafka.sasl.pasword = hunter5\n"
                       "kafka.Ssl.Keystore.Password = hunter6\n"
                       "kafka.sasl.username = shim\n")
    rc, out, err = run("check-config", write(tmp_path, text))
    assert rc == 0, err
    assert "hunter" not in out + err
    for name in ("sasl.password", "ssl.key.password", "SASL.Password", "sasl.pasword",
                 "Ssl.Keystore.Password"):
        assert f"# kafka.{name} = (hidden)" in settings(out)
    assert "kafka.sasl.username = shim" in settings(out)


@pytest.mark.parametrize("line", [
    "kafka.SASL.Password = hunter2",            # no such property (names are lower-case)
    "kafka.sasl.pasword = hunter2",
    "kafka-property = =hunter2",                # no name
    "kafka.sasl.oauthbearer.method = hunter2",  # an enum, or not in this build
])
def test_secrets_are_not_printed_in_errors(run, tmp_path, line):
    rc, out, err = run("check-config", write(tmp_path, f"output = kafka\n{line}\n" + MAPPINGS))
    assert rc == 2, out
    assert "hunter2" not in out + err
    assert f"{tmp_path}/shim.conf:2: " in err


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


# the outputs' settings, checked without connecting: the lines of a config
# file (MAPPINGS after them), the line at fault, its key as written, the problem
TLS = "output = syslog\nsyslog-target = tls://logs.example.com:6514\n"
OUTPUT_BAD = [
    ("output = stdout,nowhere\n", 1, "output",
     "'nowhere' is not an output (stdout, file:PATH, journald, syslog, kafka)"),
    ("output = stdout,stdout,stdout,stdout,stdout\n", 1, "output", "at most 4 outputs"),
    ("output = syslog\nsyslog-target = tcpp://logs.example.com:514\n", 2, "syslog-target",
     "'tcpp://logs.example.com:514': use udp://, tcp://, tls://, relp://HOST:PORT or unix:///PATH"),
    ("output = syslog\nsyslog-target = tcp://logs.example.com\n", 2, "syslog-target",
     "'tcp://logs.example.com': no :PORT"),
    ("output = syslog\nsyslog-target = unix://dev/log\n", 2, "syslog-target",
     "'unix://dev/log': unix:// needs an absolute socket path"),
    (TLS + "syslog-tls-ca = /nonexistent/ca.pem\n", 3, "syslog-tls-ca",
     "/nonexistent/ca.pem: No such file or directory"),
    (TLS + "syslog-tls-cert = /nonexistent/client.pem\n", 3, "syslog-tls-cert",
     "/nonexistent/client.pem: No such file or directory"),
    (TLS + "syslog-tls-cert = {pki}/client.pem\nsyslog-tls-key = /nonexistent/client.key\n", 4,
     "syslog-tls-key", "/nonexistent/client.key: No such file or directory"),
    (TLS + "syslog-tls-key = {pki}/client.key\n", 3, "syslog-tls-key",
     "a key without syslog-tls-cert is not used"),
    (TLS + "syslog-tls-ca = {pki}/not-a-cert.pem\n", 3, "syslog-tls-ca",
     "cannot load the CA certificates from {pki}/not-a-cert.pem"),
    (TLS + "syslog-tls-cert = {pki}/client.pem\nsyslog-tls-key = {pki}/other.key\n", 3,
     "syslog-tls-cert",
     "cannot load the client certificate and its key from {pki}/client.pem and {pki}/other.key"),
    ("output = kafka\nkafka.no.such.property = 1\n", 2, "kafka.no.such.property",
     'No such configuration property: "no.such.property"'),
    ("output = kafka\nkafka.compression.codec = zip\n", 2, "kafka.compression.codec",
     'Invalid value "zip" for configuration property "compression.codec"'),
    ("output = kafka\nkafka-property = linger.ms=soon\n", 2, "kafka-property",
     'Invalid value for configuration property "queue.buffering.max.ms"'),
    ("output = kafka\nkafka.ssl.ca.location = /nonexistent/ca.pem\n", 2,
     "kafka.ssl.ca.location", "/nonexistent/ca.pem: No such file or directory"),
    ("output = kafka\nkafka-property-file = sasl.password=/nonexistent/pw\n", 2,
     "kafka-property-file", "/nonexistent/pw: No such file or directory"),
    ("output = kafka\nkafka-property-file = linger.ms={pki}/soon.txt\n", 2, "kafka-property-file",
     'Invalid value for configuration property "queue.buffering.max.ms" (from {pki}/soon.txt)'),
    ("output = kafka\nkafka-property-file = no.such.property={pki}/soon.txt\n", 2,
     "kafka-property-file", 'No such configuration property: "no.such.property" (from {pki}/soon.txt)'),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A client certificate and its key, another key, and a file that is no
    certificate."""
    if not shutil.which("openssl"):
        pytest.skip("no openssl command")
    d = tmp_path_factory.mktemp("pki")
    for name in ("client", "other"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}", "-days", "2",
                        "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.pem")],
                       check=True, capture_output=True)
    (d / "not-a-cert.pem").write_text("not a certificate\n")
    (d / "soon.txt").write_text("soon\n")
    return str(d)


@pytest.mark.parametrize("text,line,key,problem", OUTPUT_BAD)
def test_output_settings_are_checked(run, tmp_path, pki, text, line, key, problem):
    path = write(tmp_path, text.format(pki=pki) + MAPPINGS)
    rc, out, err = run("check-config", path)
    assert rc == 2, out
    assert out == ""
    want = f"smartermail-shim: {path}:{line}: {key}: {problem.format(pki=pki)}"
    assert want in err.splitlines(), f"no {want!r} in:\n{err}"


def test_every_output_is_checked(run, tmp_path):
    """One problem in each output, and one in the mappings: all of them said."""
    path = write(tmp_path, "mappings = /nonexistent\n"
                           "output = syslog,kafka,nowhere\n"
                           "syslog-target = tcpp://logs.example.com:514\n"
                           "kafka.compression.codec = zip\n")
    rc, out, err = run("check-config", path)
    assert rc == 2, out
    for want in ("mappings: /nonexistent: No such file or directory", f"{path}:2: output: ",
                 f"{path}:3: syslog-target: ", f"{path}:4: kafka.compression.codec: "):
        assert want in err, f"no {want!r} in:\n{err}"


def test_good_output_settings_pass(run, tmp_path, pki):
    """Every output with settings that load, TLS material included; nothing
    is connected to (the receivers named do not exist)."""
    text = (f"output = file:{tmp_path}/events.json,journald,syslog,kafka\n"
            "syslog-target = tls://logs.example.invalid:6514\n"
            "syslog-tls-ca = /etc/ssl/certs/ca-certificates.crt\n"
            f"syslog-tls-cert = {pki}/client.pem\nsyslog-tls-key = {pki}/client.key\n"
            "kafka-brokers = kafka1.example.invalid:9093\n"
            "kafka.security.protocol = SASL_SSL\nkafka.sasl.mechanism = SCRAM-SHA-512\n"
            "kafka.sasl.username = shim\nkafka.sasl.password = not-a-secret\n"
            "kafka.ssl.ca.location = probe\nkafka-property = linger.ms=20\n")
    if not os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
        text = text.replace("syslog-tls-ca = /etc/ssl/certs/ca-certificates.crt\n", "")
    rc, out, err = run("check-config", write(tmp_path, text + MAPPINGS))
    assert rc == 0, err
    assert err == ""
    assert "syslog-target = tls://logs.example.invalid:6514" in settings(out)


def test_a_credential_of_the_service_is_not_checked(run, tmp_path, pki):
    """A file under /run/credentials/ (LoadCredential=) exists only inside the
    service: from a shell it is named, not refused."""
    key = "/run/credentials/smartermail-shim.service/client.key"
    if os.path.exists(key):
        pytest.skip(f"{key} exists here")
    text = TLS + f"syslog-tls-cert = {pki}/client.pem\nsyslog-tls-key = {key}\n"
    rc, out, err = run("check-config", write(tmp_path, text + MAPPINGS))
    assert rc == 0, err
    assert f"syslog-tls-key: {key} is a credential of the service; not checked here" in err


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


def test_kafka_secret_from_a_file(run, shim, tmp_path):
    """kafka-property-file: the value is read from the file (one newline
    dropped) and never printed, by check-config nor by run -v with
    librdkafka's security debugging on."""
    pw = tmp_path / "sasl-password"
    pw.write_text("hunter9-from-file\n")
    text = ("output = kafka\nkafka-brokers = 127.0.0.1:9\n"
            "kafka.security.protocol = SASL_PLAINTEXT\nkafka.sasl.mechanism = PLAIN\n"
            f"kafka.sasl.username = shim\nkafka-property-file = sasl.password={pw}\n")
    path = write(tmp_path, text + MAPPINGS)
    rc, out, err = run("check-config", path)
    assert rc == 0, err
    assert f"kafka-property-file = sasl.password={pw}" in settings(out)
    assert "hunter9" not in out + err
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "2026.09.18-smtpLog.log").write_text("08:00:00.000 [203.0.113.1][1] cmd: EHLO x\r\n")
    p = subprocess.Popen([shim, "run", "--allow-root", "--config", path, "--logs", str(logs),
                          "--state", str(tmp_path / "state"), "--from", "beginning", "-v",
                          "--kafka-property", "debug=security,broker"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert "following" in err, err
    assert "hunter9" not in err


def test_list_value_with_a_line_break_is_refused(run, tmp_path):
    """Items of a list option are kept one per line: a value with a line
    break is refused (it split into a nameless item and crashed before)."""
    rc, out, err = run("run", "--allow-root", "--logs", str(tmp_path), "--state", str(tmp_path),
                       "--output", "kafka", "--kafka-property", "client.id=b\nc")
    assert rc == 2, err
    assert "kafka-property: NAME=VALUE may not contain a line break" in err
