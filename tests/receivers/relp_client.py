"""Minimal RELP (Reliable Event Logging Protocol) client, for tests.

Sends the given syslog frames byte-exact to an imrelp listener and waits for
each "200 OK". Optional TLS through Python's ssl module (librelp's server uses
GnuTLS; plain TLS 1.2/1.3 interoperates).

    from relp_client import RelpClient
    with RelpClient("127.0.0.1", 10503) as c:
        c.send(b"<13>1 2026-01-01T00:00:00Z h app - - - hello")

Command line:  python3 relp_client.py HOST PORT MSG [MSG...]
               [--ca CA --cert CERT --key KEY]  (TLS when --ca is given)
"""
import re
import socket
import ssl
import sys


class RelpError(Exception):
    pass


class RelpClient:
    def __init__(self, host, port, timeout=10.0, ssl_context=None, server_hostname=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=server_hostname or host)
        self.buf = b""
        self.txnr = 0
        code, data = self._command(b"open", b"relp_version=0\nrelp_software=smartermail-shim-harness\ncommands=syslog")
        if code != 200:
            raise RelpError("open refused: %r" % data)
        self.offers = data

    _HDR = re.compile(rb"(\d{1,9}) ([A-Za-z]{1,32}) (\d{1,9})([ \n])")

    def _read_frame(self):
        # TXNR SP COMMAND SP DATALEN [SP DATA] LF
        while True:
            m = self._HDR.match(self.buf)
            if m:
                txnr, cmd, n = int(m.group(1)), m.group(2), int(m.group(3))
                if m.group(4) == b"\n":
                    if n != 0:
                        raise RelpError("bad frame %r" % self.buf)
                    self.buf = self.buf[m.end():]
                    return txnr, cmd, b""
                if len(self.buf) >= m.end() + n + 1:
                    data = self.buf[m.end():m.end() + n]
                    if self.buf[m.end() + n:m.end() + n + 1] != b"\n":
                        raise RelpError("bad trailer in %r" % self.buf)
                    self.buf = self.buf[m.end() + n + 1:]
                    return txnr, cmd, data
            elif len(self.buf) > 64 or (self.buf and not self.buf[:1].isdigit()):
                raise RelpError("bad frame %r" % self.buf)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RelpError("connection closed by server; pending %r" % self.buf)
            self.buf += chunk

    def _command(self, cmd, data):
        self.txnr += 1
        frame = b"%d %s %d" % (self.txnr, cmd, len(data))
        if data:
            frame += b" " + data
        self.sock.sendall(frame + b"\n")
        while True:
            txnr, rcmd, rdata = self._read_frame()
            if rcmd == b"serverclose":
                raise RelpError("server closed session")
            if rcmd == b"rsp" and txnr == self.txnr:
                code = int(rdata[:3]) if rdata[:3].isdigit() else 0
                return code, rdata

    def send(self, msg):
        if isinstance(msg, str):
            msg = msg.encode()
        code, data = self._command(b"syslog", msg)
        if code != 200:
            raise RelpError("syslog refused: %r" % data)

    def close(self):
        try:
            self._command(b"close", b"")
        except (RelpError, OSError):
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tls_context(ca, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


if __name__ == "__main__":
    args = sys.argv[1:]
    opts = {}
    for k in ("--ca", "--cert", "--key"):
        if k in args:
            i = args.index(k)
            opts[k] = args[i + 1]
            del args[i:i + 2]
    if len(args) < 3:
        sys.exit(__doc__)
    host, port, msgs = args[0], int(args[1]), args[2:]
    ctx = tls_context(opts["--ca"], opts.get("--cert"), opts.get("--key")) if "--ca" in opts else None
    with RelpClient(host, port, ssl_context=ctx, server_hostname="localhost" if ctx else None) as c:
        for m in msgs:
            c.send(m)
