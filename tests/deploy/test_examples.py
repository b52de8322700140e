# SPDX-License-Identifier: MIT
"""The pipeline examples under deploy/, checked as far as this machine
allows: every JSON and YAML file parses; the Elasticsearch template maps
every field the binary can emit with the type docs/fields.md gives it; every
field an example names (Logstash [a][b], rsyslog $!a!b, Vector .a.b) is one
the binary emits; the topic patterns match the topics the shim's example
settings produce; the rsyslog receiver passes rsyslogd's own config check,
and receives the sample logs from a real `smartermail-shim run` into its
per-type files."""

import functools
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
import yaml

import fields_doc
from conftest import REPO

DEPLOY = os.path.join(REPO, "deploy")
SAMPLES = sorted(glob.glob(os.path.join(REPO, "samples", "*.log")))
DEADLINE_S = 20.0


def files(*patterns):
    out = []
    for p in patterns:
        out += glob.glob(os.path.join(DEPLOY, "**", p), recursive=True)
    return sorted(out)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def emitted(shim):
    return set(fields_doc.emitted_fields(shim))


def log_types(shim):
    """The log type of each sample as the events say it (smtp, delivery, ...)."""
    r = subprocess.run([shim, "parse", "--timezone", "America/Chicago", "--mappings",
                        os.path.join(REPO, "mappings"), *SAMPLES], capture_output=True,
                       text=True, check=True)
    return sorted({json.loads(l)["smartermail"]["log_type"] for l in r.stdout.splitlines()})


def setting(conf, key):
    m = re.search(rf"(?m)^{re.escape(key)} = (.*)$", read(os.path.join(DEPLOY, conf)))
    assert m, f"deploy/{conf} sets no {key}"
    return m.group(1).strip()


# ---- syntax -----------------------------------------------------------------

@pytest.mark.parametrize("path", files("*.json"), ids=os.path.basename)
def test_json_parses(path):
    json.loads(read(path))


@pytest.mark.parametrize("path", files("*.yml", "*.yaml"), ids=os.path.basename)
def test_yaml_parses(path):
    assert isinstance(yaml.safe_load(read(path)), dict)


# ---- Elasticsearch ------------------------------------------------------------

def test_es_template_maps_every_field_with_its_documented_type(shim):
    tpl = json.loads(read(fields_doc.ES_TEMPLATE))
    leaves = fields_doc.leaf_mappings(tpl["template"]["mappings"]["properties"])
    wrong = []
    for field, doc_type in fields_doc.typed_fields(shim):
        want = fields_doc.ES_TYPES[doc_type]
        got = leaves.get(field, {}).get("type")
        if got != want:
            wrong.append(f"{field}: {got or 'no mapping'}, docs/fields.md says {doc_type} ({want})")
    extra = set(leaves) - {f for f, _ in fields_doc.typed_fields(shim)} - set(fields_doc.SHIPPER_FIELDS)
    assert not wrong and not extra, (
        "deploy/elasticsearch/smartermail-template.json is out of date "
        "(make deploy-regen rewrites it):\n  " + "\n  ".join(wrong + sorted(f"{f}: not a field" for f in extra)))


def test_es_template_is_the_generated_one(shim):
    assert read(fields_doc.ES_TEMPLATE) == fields_doc.es_template_text(shim), (
        "deploy/elasticsearch/smartermail-template.json differs from what "
        "`make deploy-regen` writes")


def test_es_template_matches_the_data_stream_the_shippers_write():
    tpl = json.loads(read(fields_doc.ES_TEMPLATE))
    stream = "logs-smartermail-default"
    assert any(re.fullmatch(p.replace("*", ".*"), stream) for p in tpl["index_patterns"])
    assert tpl["priority"] > 100, "must win over Elasticsearch's built-in logs-*-* template"
    assert 'data_stream_dataset => "smartermail"' in read(os.path.join(DEPLOY, "logstash", "smartermail.conf"))
    vec = yaml.safe_load(read(os.path.join(DEPLOY, "vector", "smartermail.yaml")))
    assert vec["sinks"]["elasticsearch"]["data_stream"]["dataset"] == "smartermail"
    fb = yaml.safe_load(read(os.path.join(DEPLOY, "filebeat", "filebeat.yml")))
    assert fb["output.elasticsearch"]["index"] == stream


# ---- field names the examples use -------------------------------------------------

def test_logstash_fields(emitted):
    text = read(os.path.join(DEPLOY, "logstash", "smartermail.conf"))
    refs = {".".join(re.findall(r"\[([^\]]+)\]", m))
            for m in re.findall(r"(?:\[[a-z@_][a-z0-9_]*\])+", text)}
    refs -= {"@version"}        # Logstash's own, removed there
    assert refs and refs <= emitted, f"not fields: {sorted(refs - emitted)}"


def test_rsyslog_fields(emitted):
    text = read(os.path.join(DEPLOY, "rsyslog", "smartermail-receiver.conf"))
    refs = {m.replace("!", ".") for m in re.findall(r"\$!([a-z_][a-z0-9_!]*)", text)}
    refs.discard("all")     # $!all-json-plain: the whole event
    assert refs and refs <= emitted, f"not fields: {sorted(refs - emitted)}"


def test_vector_fields(emitted):
    vec = yaml.safe_load(read(os.path.join(DEPLOY, "vector", "smartermail.yaml")))
    source = vec["transforms"]["smartermail_ecs"]["source"]
    code = "\n".join(l.split("#")[0] for l in source.splitlines())
    refs = set(re.findall(r"(?<![\w)\]])\.([a-z_@][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)", code))
    kafka_meta = {"headers", "message_key", "offset", "partition", "topic", "source_type",
                  "timestamp"}
    refs -= kafka_meta
    assert refs and refs <= emitted, f"not fields: {sorted(refs - emitted)}"


def test_graylog_extractor_condition_matches_real_events(shim):
    ext = json.loads(read(os.path.join(DEPLOY, "graylog", "syslog-json-extractor.json")))
    cond = ext["extractors"][0]["condition_value"]
    r = subprocess.run([shim, "parse", "--timezone", "America/Chicago", "--mappings",
                        os.path.join(REPO, "mappings"), *SAMPLES], capture_output=True,
                       text=True, check=True)
    lines = r.stdout.splitlines()
    assert lines and all(cond in l for l in lines)


# ---- topics --------------------------------------------------------------------

def topics(shim, conf):
    template = setting(conf, "kafka-topic")
    return [template.replace("{type}", t) for t in log_types(shim)]


def test_topic_patterns_match_the_shims_topics(shim):
    ecs = topics(shim, "logstash/smartermail-shim.conf")
    gelf = topics(shim, "graylog/smartermail-shim-gelf-kafka.conf")
    ls = re.search(r'topics_pattern => "([^"]+)"', read(os.path.join(DEPLOY, "logstash", "smartermail.conf"))).group(1)
    vec = yaml.safe_load(read(os.path.join(DEPLOY, "vector", "smartermail.yaml")))
    vpat = vec["sources"]["smartermail_kafka"]["topics"][0]
    gl = json.loads(read(os.path.join(DEPLOY, "graylog", "gelf-kafka-input.json")))
    gpat = gl["configuration"]["topic_filter"]
    for pat, want, other in ((ls, ecs, gelf), (vpat, ecs, gelf), (gpat, gelf, ecs)):
        assert all(re.fullmatch(pat.lstrip("^").rstrip("$"), t) for t in want), (pat, want)
        assert not any(re.fullmatch(pat.lstrip("^").rstrip("$"), t) for t in other), (pat, other)


def test_graylog_inputs():
    kinds = {"gelf-kafka-input.json": "org.graylog2.inputs.gelf.kafka.GELFKafkaInput",
             "syslog-tcp-input.json": "org.graylog2.inputs.syslog.tcp.SyslogTCPInput"}
    for name, kind in kinds.items():
        body = json.loads(read(os.path.join(DEPLOY, "graylog", name)))
        assert body["type"] == kind and body["title"] and isinstance(body["configuration"], dict)
    body = json.loads(read(os.path.join(DEPLOY, "graylog", "syslog-tcp-input.json")))
    assert str(body["configuration"]["port"]) == \
        setting("graylog/smartermail-shim-syslog.conf", "syslog-target").rsplit(":", 1)[1]


# ---- rsyslog, for real ---------------------------------------------------------

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


def needs_rsyslog(test):
    """rsyslogd must be there (make deploy-check installs it): a missing one
    fails the test rather than skipping it."""
    @functools.wraps(test)
    def run(*a, **kw):
        assert os.access(RSYSLOGD, os.X_OK), f"{RSYSLOGD} is missing: run make deploy-check"
        return test(*a, **kw)
    return run


def receiver_conf(tmp_path, relp_port, tcp_port):
    """The example with this test's ports and output directory, inside a
    minimal master config (nothing from /etc/rsyslog.conf)."""
    text = read(os.path.join(DEPLOY, "rsyslog", "smartermail-receiver.conf"))
    text = text.replace('port="2514"', f'port="{relp_port}"').replace('port="6514"', f'port="{tcp_port}"')
    text = text.replace("/var/log/smartermail/", f"{tmp_path}/out/")
    assert str(relp_port) in text and str(tcp_port) in text
    inc = tmp_path / "receiver.conf"
    inc.write_text(text)
    (tmp_path / "work").mkdir()
    master = tmp_path / "rsyslog.conf"
    master.write_text(f'global(workDirectory="{tmp_path}/work")\ninclude(file="{inc}")\n')
    return str(master)


@needs_rsyslog
def test_rsyslog_receiver_config_check(tmp_path):
    r = subprocess.run([RSYSLOGD, "-N1", "-f", receiver_conf(tmp_path, 2514, 6514)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_for(cond, what):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out after {DEADLINE_S} s waiting for {what}"
        time.sleep(0.05)


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@needs_rsyslog
def test_rsyslog_receives_the_sample_logs(shim, tmp_path):
    relp, tcp = free_ports(2)
    conf = receiver_conf(tmp_path, relp, tcp)
    (tmp_path / "out").mkdir()
    rsyslog = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", str(tmp_path / "rsyslog.pid")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    state.mkdir()
    daemon = None
    try:
        wait_for(lambda: port_open(relp) or rsyslog.poll() is not None, "rsyslogd to listen")
        assert rsyslog.poll() is None, rsyslog.stdout.read().decode()
        want = subprocess.run([shim, "parse", "--timezone", "America/Chicago", "--mappings",
                               os.path.join(REPO, "mappings"), *SAMPLES],
                              capture_output=True, text=True, check=True).stdout.splitlines()
        want = {json.loads(l)["event"]["original"] for l in want if '"original"' in l}
        settings = read(os.path.join(DEPLOY, "rsyslog", "smartermail-shim.conf"))
        settings = settings.replace("relp://rsyslog.example.com:2514", f"relp://127.0.0.1:{relp}")
        (tmp_path / "shim.conf").write_text(settings + f"\nmappings = {REPO}/mappings\n")
        daemon = subprocess.Popen([shim, "run", "--allow-root", "--config", str(tmp_path / "shim.conf"),
                                   "--logs", str(logs), "--state", str(state),
                                   "--from", "beginning", "--timezone", "America/Chicago"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for s in SAMPLES:
            shutil.copy(s, logs)

        def received():
            got = set()
            for path in glob.glob(str(tmp_path / "out" / "*.json")):
                for line in open(path, encoding="utf-8"):
                    ev = json.loads(line)
                    assert os.path.basename(path) == ev["smartermail"]["log_type"] + ".json"
                    if "original" in ev.get("event", {}):
                        got.add(ev["event"]["original"])
            return got >= want
        wait_for(received, f"rsyslog to write all {len(want)} sample records")
        assert not (tmp_path / "out" / "not-json.log").exists()
    finally:
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=DEADLINE_S)
        rsyslog.send_signal(signal.SIGTERM)
        rsyslog.wait(timeout=DEADLINE_S)
