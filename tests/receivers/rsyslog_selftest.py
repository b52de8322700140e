#!/usr/bin/env python3
"""Self-test of rsyslog-harness.sh: start it, send over every listener with
several clients (raw sockets, util-linux logger, openssl s_client, Python TLS,
a Python RELP client and librelp's own client), compare every parsed field,
restart, check the files are kept, stop.

    python3 rsyslog_selftest.py [DIR] [BASEPORT]      (or: rsyslog-harness.sh selftest ...)

DIR defaults to a new temporary directory, BASEPORT to a random free range.

Ends with "N passed, M failed"; exit status 1 if anything failed.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "rsyslog-harness.sh")
sys.path.insert(0, HERE)
from relp_client import RelpClient, RelpError, tls_context  # noqa: E402

RESULTS = {"passed": 0, "failed": 0}


def ok(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print("PASS", name)
    else:
        RESULTS["failed"] += 1
        print("FAIL", name, detail)
    return cond


def harness(*args):
    t = time.monotonic()
    subprocess.run(["bash", HARNESS, *args], check=True)
    return time.monotonic() - t


def records(d, name):
    path = os.path.join(d, name + ".log")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def wait_token(d, name, token, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in records(d, name):
            if token in r["rawmsg"]:
                return r
        time.sleep(0.05)
    return None


def check_fields(case, rec, want):
    if not ok(case + " received", rec is not None):
        return
    bad = {k: (rec.get(k), v) for k, v in want.items() if rec.get(k) != v}
    ok(case + " fields", not bad, "got/want: %r" % bad)


def rfc5424(token, sd='[ex@32473 a="1" b="x\\"y\\]z"]', body="body \u00e9"):
    return ('<165>1 2026-03-04T05:06:07.123456+01:00 test-host smartermail-shim 1234 SMTP-IN %s %s %s'
            % (sd, body, token))


def full_want(token, listener):
    return {
        "rawmsg": rfc5424(token), "msg": "body \u00e9 " + token, "hostname": "test-host",
        "app-name": "smartermail-shim", "programname": "smartermail-shim", "procid": "1234",
        "msgid": "SMTP-IN", "structured-data": '[ex@32473 a="1" b="x\\"y\\]z"]', "pri": 165,
        "syslogfacility": 20, "syslogseverity": 5, "protocol-version": "1",
        "timereported": "2026-03-04T05:06:07.123456+01:00", "fromhost-ip": "127.0.0.1",
        "listener": listener,
    }


def octet(msg):
    b = msg.encode()
    return b"%d %s" % (len(b), b)


def tcp_send(port, payload, ctx=None):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        if ctx:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(payload)
                try:
                    t.unwrap()   # close_notify; rsyslog may just close the socket
                except (ssl.SSLError, OSError):
                    pass
        else:
            s.sendall(payload)


def port_free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base(n=7):
    import random
    for _ in range(50):
        b = random.randrange(20000, 60000, 10)
        if all(port_free(b + i) for i in range(n)):
            return b
    raise SystemExit("no free port range found")


def main():
    made = len(sys.argv) < 2
    d = sys.argv[1] if not made else tempfile.mkdtemp(prefix="rsyslog-harness.")
    base = int(sys.argv[2]) if len(sys.argv) > 2 else free_base()
    P = {n: base + i for i, n in enumerate(["udp", "tcp", "ptcp", "relp", "tls", "mtls", "relptls"])}
    pki = os.path.join(d, "pki")
    run = str(os.getpid())
    print("dir", d, "baseport", base)
    t = harness("start", d, str(base))
    print("start took %.3fs" % t)
    try:
        ca = os.path.join(pki, "ca.pem")
        ccert, ckey = os.path.join(pki, "client.pem"), os.path.join(pki, "client.key")
        srv_ctx = tls_context(ca)                  # server auth only
        mut_ctx = tls_context(ca, ccert, ckey)     # with client certificate

        # --- exact bytes, every field, every listener
        tok = "tok-udp-" + run
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(rfc5424(tok).encode(), ("127.0.0.1", P["udp"]))
        check_fields("udp raw", wait_token(d, "udp", tok), full_want(tok, "udp"))

        for name in ("tcp", "ptcp"):
            t1, t2, t3 = ("tok-%s-%s-%s" % (name, k, run) for k in ("lf", "oc", "ml"))
            tcp_send(P[name], (rfc5424(t1) + "\n").encode())
            check_fields(name + " LF-framed", wait_token(d, name, t1), full_want(t1, name))
            multi = rfc5424(t3, body="line1\nline2")
            tcp_send(P[name], octet(rfc5424(t2)) + octet(multi))
            check_fields(name + " octet-counted", wait_token(d, name, t2), full_want(t2, name))
            r = wait_token(d, name, t3)
            ok(name + " octet-counted keeps embedded LF", r is not None and r["msg"] == "line1\nline2 " + t3,
               repr(r and r["msg"]))

        tok = "tok-tls-" + run
        tcp_send(P["tls"], octet(rfc5424(tok)), srv_ctx)
        check_fields("tls octet-counted (python ssl)", wait_token(d, "tls", tok), full_want(tok, "tls"))

        tok = "tok-mtls-" + run
        tcp_send(P["mtls"], octet(rfc5424(tok)), mut_ctx)
        check_fields("mtls with client cert", wait_token(d, "mtls", tok), full_want(tok, "mtls"))
        tok_nc = "tok-mtls-nocert-" + run
        try:
            tcp_send(P["mtls"], octet(rfc5424(tok_nc)), srv_ctx)
        except (ssl.SSLError, OSError):
            pass
        ok("mtls without client cert rejected", wait_token(d, "mtls", tok_nc, timeout=1.0) is None)

        tok = "tok-relp-" + run
        with RelpClient("127.0.0.1", P["relp"]) as c:
            c.send(rfc5424(tok))
        check_fields("relp (python client)", wait_token(d, "relp", tok), full_want(tok, "relp"))
        tok = "tok-relptls-" + run
        with RelpClient("127.0.0.1", P["relptls"], ssl_context=mut_ctx, server_hostname="localhost") as c:
            c.send(rfc5424(tok))
        check_fields("relp+tls (python client)", wait_token(d, "relptls", tok), full_want(tok, "relptls"))
        try:
            with RelpClient("127.0.0.1", P["relptls"], ssl_context=srv_ctx, server_hostname="localhost") as c:
                c.send(rfc5424("tok-relptls-nocert-" + run))
            ok("relp+tls without client cert rejected", False, "was accepted")
        except (RelpError, ssl.SSLError, OSError):
            ok("relp+tls without client cert rejected", True)

        # --- librelp's client (what the shim links)
        cc, pc = shutil.which("cc"), shutil.which("pkg-config")
        if cc and pc and subprocess.run([pc, "--exists", "relp"]).returncode == 0:
            exe = os.path.join(d, "relp_send")
            flags = subprocess.run([pc, "--cflags", "--libs", "relp"], capture_output=True, text=True).stdout.split()
            subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-o", exe,
                            os.path.join(HERE, "relp_send.c"), *flags], check=True)
            tok = "tok-librelp-" + run
            rc = subprocess.run([exe, "127.0.0.1", str(P["relp"]), rfc5424(tok)]).returncode
            ok("librelp client exit 0", rc == 0, rc)
            check_fields("relp (librelp client)", wait_token(d, "relp", tok), full_want(tok, "relp"))
            tok = "tok-librelptls-" + run
            rc = subprocess.run([exe, "-t", ca, ccert, ckey, "localhost", "127.0.0.1", str(P["relptls"]),
                                 rfc5424(tok)]).returncode
            ok("librelp TLS client (authMode name) exit 0", rc == 0, rc)
            check_fields("relp+tls (librelp client)", wait_token(d, "relptls", tok), full_want(tok, "relptls"))
            rc = subprocess.run([exe, "-t", ca, ccert, ckey, "not-the-server", "127.0.0.1", str(P["relptls"]),
                                 rfc5424("x")], stderr=subprocess.DEVNULL).returncode
            ok("librelp TLS client refuses wrong peer name", rc != 0, rc)
        else:
            print("SKIP librelp client: no cc/pkg-config/librelp-dev")

        # --- common clients
        def logger(port, *args):
            subprocess.run(["logger", "--rfc5424", "-n", "127.0.0.1", "-P", str(port), *args], check=True)

        tok = "tok-logger-udp-" + run
        logger(P["udp"], "-d", "-t", "lgapp", "--id=4242", "-p", "mail.err", "--msgid", "MID7",
               "--sd-id", "zz@32473", "--sd-param", 'k="v"', tok)
        r = wait_token(d, "udp", tok)
        check_fields("logger udp", r, {"app-name": "lgapp", "procid": "4242", "msgid": "MID7", "pri": 19,
                                       "syslogfacility": 2, "syslogseverity": 3, "msg": tok})
        ok("logger udp structured-data", r is not None and '[zz@32473 k="v"]' in r["structured-data"],
           r and r["structured-data"])
        for name in ("tcp", "ptcp"):
            for extra in ([], ["--octet-count"]):
                tok = "tok-logger-%s-%s-%s" % (name, "oc" if extra else "lf", run)
                logger(P[name], "-T", *extra, "-t", "lgapp", tok)
                check_fields("logger %s %s" % (name, extra or "LF"), wait_token(d, name, tok),
                             {"app-name": "lgapp", "msg": tok})

        tok = "tok-sclient-" + run
        subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % P["tls"], "-CAfile", ca,
                        "-verify_return_error", "-verify_hostname", "localhost", "-quiet", "-no_ign_eof"],
                       input=(rfc5424(tok) + "\n").encode(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=20, check=True)
        check_fields("tls LF-framed (openssl s_client)", wait_token(d, "tls", tok), full_want(tok, "tls"))

        # --- RFC 3164 is parsed too
        tok = "tok-3164-" + run
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(("<34>Oct 11 22:14:15 oldhost su[77]: 'su root' failed %s" % tok).encode(),
                     ("127.0.0.1", P["udp"]))
        check_fields("rfc3164 udp", wait_token(d, "udp", tok),
                     {"hostname": "oldhost", "programname": "su", "procid": "77", "syslogtag": "su[77]:",
                      "pri": 34, "protocol-version": "0"})

        # --- restart keeps the files and the ports
        before = {n: len(records(d, n)) for n in P}
        t = harness("restart", d)
        print("restart took %.3fs" % t)
        tok = "tok-after-restart-" + run
        tcp_send(P["tcp"], octet(rfc5424(tok)))
        with RelpClient("127.0.0.1", P["relp"]) as c:
            c.send(rfc5424(tok))
        ok("after restart: tcp", wait_token(d, "tcp", tok) is not None)
        ok("after restart: relp", wait_token(d, "relp", tok) is not None)
        ok("restart kept old lines", len(records(d, "tcp")) == before["tcp"] + 1
           and len(records(d, "udp")) == before["udp"], {n: (before[n], len(records(d, n))) for n in P})
    finally:
        t = harness("stop", d)
        print("stop took %.3fs" % t)
    busy = subprocess.run(["ss", "-H", "-ltun", "sport >= :%d and sport <= :%d" % (base, base + 6)],
                          capture_output=True, text=True).stdout.strip()
    ok("ports free after stop", busy == "", busy)
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    if made and not RESULTS["failed"]:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
