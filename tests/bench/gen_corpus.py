#!/usr/bin/env python3
"""Generate a deterministic, realistic SmarterMail log corpus for benchmarks.

Usage:
    gen_corpus.py --records N --out DIR [--seed S] [--form disk|viewer|mixed]
                  [--date YYYY.MM.DD]

Writes YYYY.MM.DD-smtpLog.log and YYYY.MM.DD-delivery.log into DIR.

  --form disk    one day, on-disk line form   "HH:MM:SS.mmm body"
  --form viewer  one day, web-viewer form     "[YYYY.MM.DD] HH:MM:SS.mmm body"
                 (about 5% of viewer lines carry no milliseconds, as in the
                 product tutorial's exports)
  --form mixed   (default) two days: the first day in disk form, the next
                 day in viewer form; N is split evenly between the days.

The shapes follow shared/spec/log-format.md: interleaved inbound SMTP
sessions ("[ip][session] cmd:/rsp: ..."), spool hand-offs
("[ip] [session] Data transfer succeeded, writing mail to X.eml ..."),
delivery sessions ("[id] ..." with upper-case CMD:/RSP:), queue lines
("[id] [LocalDeliveryQueue] Begin Processing."), IDS lines
("[IpBruteForceDetector] [ip] Added to IDS block list ..."), lifecycle
lines without brackets, and the odd .NET exception whose continuation
lines carry no timestamp (three spaces + "at ", or a TAB).  Every
delivery id is the last 8 characters of the spool file named in the SMTP
log, so sessions can be linked.  Lines end in CRLF, bytes are ASCII
except for a rare non-UTF-8 byte in a client's EHLO name.

Session mix (of SMTP sessions): 40% inbound mail from remote MTAs (2% over
IPv6, 55% STARTTLS, some with several messages or recipients, 550/451/spam
rejections at RCPT), 18% authenticated submissions (AUTH LOGIN or CRAM-MD5,
4% failing with 535) relayed to remote MX hosts (about 5% deferred then
retried, 4% bounced, 2% failed), 14% brute-force AUTH attempts (535, "too
many authentication failures", IDS blocks, then "421 IP blocked by brute
force abuse detection rule"), 14% rejections (IP is blacklisted, EHLO SMTP
blocking rule, SMTP Spam Blocking, 421), 14% probes (EHLO+QUIT, HTTP junk,
idle timeouts). About 8% of spool ids are hex-like and 2% hold a '-'.
Session starts follow a daily load curve. Nothing spills past midnight.

Output is a pure function of (--records, --seed, --form, --date).
The last line on stdout is:  records=<n> bytes=<b> files=<k>
where n counts timestamped records (continuation lines excluded).
Standard library only.
"""

import argparse
import base64
import datetime
import os
import random
import sys

DAY_MS = 86_400_000
# Relative session-start density per hour of day (a business mail server).
HOUR_WEIGHTS = [4, 3, 3, 3, 3, 4, 6, 9, 13, 15, 16, 16,
                15, 15, 16, 15, 14, 12, 10, 9, 8, 7, 6, 5]

HOST = "mail.example.net"
SERVER_IP = "203.0.113.25"
EHLO_250 = ("250-" + HOST + " Hello [{ip}]250-SIZE 31457280250-AUTH LOGIN CRAM-MD5"
            "250-STARTTLS250-8BITMIME250 OK")
EHLO_250_TLS = ("250-" + HOST + " Hello [{ip}]250-SIZE 31457280250-AUTH LOGIN CRAM-MD5"
                "250-8BITMIME250 OK")

LOCAL_DOMAINS = ["example.net", "example.com", "example.org", "shop.example",
                 "lawfirm.example", "school.example", "clinic.example"]
REMOTE_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com",
                  "icloud.com", "gmx.de", "aol.com", "comcast.net",
                  "partner-one.example", "supplier.example", "bank.example",
                  "news.example", "cloudmail.example"]
FIRST = ["anna", "ben", "carla", "david", "elena", "frank", "grace", "henry",
         "irene", "jack", "karen", "liam", "maria", "nick", "olga", "peter",
         "quinn", "rosa", "sam", "tina", "umar", "vera", "will", "xena",
         "yusuf", "zoe"]
LAST = ["smith", "jones", "brown", "garcia", "miller", "davis", "wilson",
        "moore", "taylor", "thomas", "white", "harris", "martin", "clark",
        "lewis", "walker", "young", "king", "wright", "lopez"]
ROLES = ["info", "sales", "support", "admin", "office", "billing", "hr",
         "noreply", "newsletter", "orders", "webmaster", "contact"]
BRUTE_USERS = ["admin", "test", "info", "user", "postmaster", "sales",
               "administrator", "office", "root", "mail"]
SPAM_EHLO = ["User", "localhost", "ylmf-pc", "WIN-{r}", "DESKTOP-{r}",
             "[{ip}]", "{ip}", "mail.{d}", "smtp.{d}", "host-{r}.example"]

MX_STYLES = {
    # remote domain -> style of its MX conversation (see Gen.mx_for)
    "gmail.com": "google",
    "outlook.com": "ms", "hotmail.com": "ms",
    "yahoo.com": "yahoo", "aol.com": "yahoo",
}

EXC_SMTP = [
    ("Exception: System.IO.IOException: Unable to read data from the transport "
     "connection: An existing connection was forcibly closed by the remote host.",
     ["   at System.Net.Sockets.NetworkStream.Read(Byte[] buffer, Int32 offset, Int32 size)",
      "   at System.Net.Security.SslStream.ReadAsyncInternal[TReadAdapter](TReadAdapter adapter, Memory`1 buffer)",
      "   --- End of inner exception stack trace ---",
      "   at MailService.Smtp.SmtpSession.ReadLineAsync(CancellationToken token)",
      "   at MailService.Smtp.SmtpSession.ProcessAsync()"]),
    ("Exception: System.Security.Authentication.AuthenticationException: Authentication "
     "failed because the remote party has closed the transport stream.",
     ["   at System.Net.Security.SslStream.ForceAuthenticationAsync[TIOAdapter](TIOAdapter adapter, Boolean receiveFirst, Byte[] reAuthenticationData)",
      "   at MailService.Smtp.SmtpSession.StartTlsAsync()",
      "\tTLS handshake aborted by client after ClientHello."]),
]
EXC_GLOBAL = [
    ("Exception: System.Net.Sockets.SocketException (10048): Only one usage of each "
     "socket address (protocol/network address/port) is normally permitted.",
     ["   at System.Net.Sockets.Socket.UpdateStatusAfterSocketErrorAndThrowException(SocketError error)",
      "   at System.Net.Sockets.Socket.Bind(EndPoint localEP)",
      "   at MailService.Listeners.TcpListenerEx.Start()"]),
]
EXC_DELIVERY = [
    ("Exception: System.TimeoutException: The operation has timed out.",
     ["   at MailService.Delivery.RemoteDelivery.ReadResponseAsync(Stream stream)",
      "   at MailService.Delivery.RemoteDelivery.SendAsync(SpoolMessage message)",
      "\tRetry scheduled in 15 minutes."]),
]


def fmt_12h(ms):
    s = ms // 1000
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    h %= 24
    ampm = "AM" if h < 12 else "PM"
    h12 = h % 12 or 12
    return "%d:%02d:%02d %s" % (h12, m, sec, ampm)


class Sess:
    """Records of one session: (offset_ms, text, time_flag, suffix)."""
    __slots__ = ("t", "recs", "pre")

    def __init__(self, pre, t=0):
        self.t = t
        self.pre = pre
        self.recs = []

    def add(self, text, dt=0, flag=0, suf="", pre=None):
        self.t += dt
        self.recs.append((self.t, (self.pre if pre is None else pre) + text, flag, suf))


# flags: 1 -> append US date-time "3/8/2026 10:54:21 PM"; 2 -> append "10:54:21 PM"


class Gen:
    def __init__(self, rnd, date, spool_base, sid_base):
        self.r = rnd
        self.date = date
        self.us_date = "%d/%d/%d" % (date.month, date.day, date.year)
        self.sid = sid_base
        self.spool = spool_base
        self.mta_pool = [self.ip4() for _ in range(300)]
        self.bot_pool = [self.ip4() for _ in range(800)]
        self.client_pool = [self.ip4() for _ in range(400)]
        self.users = [self.person(d) for d in LOCAL_DOMAINS for _ in range(40)]
        self.blocked = {}
        self.session_count = 0

    # -- random helpers ---------------------------------------------------
    def ip4(self):
        r = self.r
        a = r.choice((23, 31, 37, 45, 51, 62, 66, 74, 77, 80, 85, 91, 94, 103,
                      104, 109, 112, 128, 141, 146, 157, 163, 176, 178, 185,
                      188, 193, 195, 198, 203, 209, 212, 216, 217))
        return "%d.%d.%d.%d" % (a, r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))

    def ip6(self):
        r = self.r
        return "2001:db8:%x:%x::%x" % (r.randint(1, 0xffff), r.randint(0, 0xff), r.randint(1, 0xfff))

    def person(self, dom):
        r = self.r
        x = r.random()
        if x < 0.6:
            lp = "%s.%s" % (r.choice(FIRST), r.choice(LAST))
        elif x < 0.85:
            lp = "%s%s" % (r.choice(FIRST)[0], r.choice(LAST))
        else:
            lp = r.choice(ROLES)
        return lp + "@" + dom

    def remote_addr(self):
        return self.person(self.r.choice(REMOTE_DOMAINS))

    def local_addr(self):
        return self.r.choice(self.users)

    def msgid(self, dom):
        r = self.r
        x = r.random()
        if x < 0.4:
            return "CA%s@mail.gmail.com" % "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789+_-") for _ in range(40))
        if x < 0.7:
            return "%016x.%08x@%s" % (r.getrandbits(64), r.getrandbits(32), dom)
        return "%08x-%04x-%04x-%04x-%012x@%s" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(16),
                                                  r.getrandbits(16), r.getrandbits(48), dom)

    def size(self):
        return max(300, min(int(self.r.lognormvariate(9.3, 1.5)), 30_000_000))

    def new_spool(self):
        """-> (spool base name, delivery id = last 8 chars)."""
        self.spool += 1
        r = self.r
        x = r.random()
        if x < 0.90:
            base = "%d" % self.spool                     # e.g. 706170001002
        elif x < 0.98:
            base = "%04d%08x" % (self.spool % 10000, r.getrandbits(32))  # hex-like tail
        else:
            base = "%04d-%07d" % (self.spool % 10000, self.spool % 10_000_000)
        return base, base[-8:]

    def ehlo_name(self, ip, kind):
        r = self.r
        if kind == "mta":
            return r.choice(("mail-%s.outbound.example" % ip.replace(".", "-").replace(":", "-"),
                             "mx%d.%s" % (r.randint(1, 9), r.choice(REMOTE_DOMAINS)),
                             "smtp.%s" % r.choice(REMOTE_DOMAINS),
                             "mail-wr1-f%d.google.com" % r.randint(1, 99)))
        if kind == "client":
            return r.choice(("[192.168.0.%d]" % r.randint(2, 250), "[10.0.0.%d]" % r.randint(2, 250),
                             "DESKTOP-%05X" % r.getrandbits(20), "iPhone", "Mac"))
        if r.random() < 0.0005:
            return "caf\xe9-pc"          # the odd non-UTF-8 byte (latin-1 0xE9)
        return r.choice(SPAM_EHLO).format(r="%06X" % r.getrandbits(24), ip=ip,
                                          d=r.choice(LOCAL_DOMAINS))

    # -- SMTP pieces --------------------------------------------------------
    def open_sess(self, ip):
        self.sid += self.r.randint(1, 3)
        return Sess("[%s][%d] " % (ip, self.sid))

    def greet(self, s):
        s.add("rsp: 220 " + HOST)
        s.add("connected at ", 0, 1)

    def ehlo(self, s, ip, name, rtt, tls=False):
        r = self.r
        if r.random() < 0.08 and not tls:
            s.add("cmd: HELO " + name, rtt)
            s.add("rsp: 250 %s Hello [%s]" % (HOST, ip), r.randint(0, 2))
            return
        s.add("cmd: EHLO " + name, rtt)
        s.add("rsp: " + (EHLO_250_TLS if tls else EHLO_250).format(ip=ip), r.randint(0, 2))

    def close(self, s, rtt, quit=True):
        if quit:
            s.add("cmd: QUIT", rtt)
            s.add("rsp: 221 Service closing transmission channel", self.r.randint(0, 2))
        s.add("disconnected at ", self.r.randint(0, 3), 1)

    def auth(self, s, user, rtt, ok):
        r = self.r
        if r.random() < 0.7:
            s.add("cmd: AUTH LOGIN", rtt)
            s.add("rsp: 334 VXNlcm5hbWU6", r.randint(0, 1))
            s.add("Authenticating as " + user, rtt)
            s.add("rsp: 334 UGFzc3dvcmQ6", r.randint(0, 1))
            dt = rtt + r.randint(2, 30)
        else:
            s.add("cmd: AUTH CRAM-MD5", rtt)
            chal = "<%d.%d@%s>" % (r.randint(10 ** 9, 10 ** 10), r.getrandbits(60), HOST)
            s.add("rsp: 334 " + base64.b64encode(chal.encode()).decode(), r.randint(0, 1))
            s.add("Authenticating as " + user, rtt)
            dt = r.randint(2, 30)
        if ok:
            s.add("rsp: 235 Authentication successful", dt)
            s.add("Authenticated as " + user, 0)
        else:
            s.add("rsp: 535 Authentication failed", dt + r.randint(200, 1500))

    def mail_txn(self, s, ip, rtt, sender, rcpts, sz, local_only):
        """One MAIL/RCPT/DATA transaction. Returns (accepted rcpts, spool) or None."""
        r = self.r
        params = " SIZE=%d" % sz if r.random() < 0.85 else ""
        if params and r.random() < 0.3:
            params += " BODY=8BITMIME"
        s.add("cmd: MAIL FROM:<%s>%s" % (sender, params), rtt)
        if sz > 31457280:
            s.add("rsp: 552 Message size exceeds fixed maximum message size", 1)
            return None
        s.add("Sender accepted. Weight: %d" % r.choice((0, 0, 0, 0, 5, 10, 15)), r.randint(0, 3))
        s.add("rsp: 250 OK <%s> Sender ok" % sender, 0)
        acc = []
        for rc in rcpts:
            s.add("cmd: RCPT TO:<%s>" % rc, rtt)
            x = r.random()
            if local_only and x < 0.05:
                s.add("rsp: 550 <%s> No such user here" % rc, r.randint(1, 40))
            elif local_only and x < 0.07:
                s.add("rsp: 451 Greylisted, please try again later", r.randint(1, 40))
            elif local_only and x < 0.09:
                s.add("rsp: 550 Mail rejected due to SMTP Spam Blocking", r.randint(5, 400))
            elif local_only and x < 0.095:
                s.add("rsp: 554 Relay access denied", r.randint(1, 5))
            else:
                s.add("rsp: 250 OK <%s> Recipient ok" % rc, r.randint(1, 40))
                acc.append(rc)
        if not acc:
            return None
        s.add("cmd: DATA", rtt)
        s.add("rsp: 354 Start mail input; end with <CRLF>.<CRLF>", r.randint(0, 2))
        got = sz + r.randint(0, 900) if params else sz
        s.add("Received message size: %d bytes" % got, rtt + got // r.randint(200, 20000))
        base, did = self.new_spool()
        s.add("Successfully wrote to the HDR file. (C:/SmarterMail/Spool/SubSpool%d/%s.hdr)"
              % (r.randint(1, 8), base), r.randint(1, 15))
        s.add("Data transfer succeeded, writing mail to %s.eml (MessageID: <%s>)"
              % (base, self.msgid(sender.split("@")[1] if sender else HOST)), r.randint(0, 5),
              pre="[%s] [%d] " % (ip, self.sid))
        s.add("rsp: 250 OK", r.randint(0, 3))
        return acc, did

    # -- delivery sessions ----------------------------------------------------
    def deliv_local(self, t0, did, sender, rcpts):
        r = self.r
        d = Sess("[%s] " % did, t0)
        d.add("Delivery started for %s at " % sender, 0, 2)
        d.add("Added to SpamCheckQueue (%d queued; %d/50 processing)" % (r.randint(1, 4), r.randint(0, 6)),
              r.randint(0, 3))
        d.add("Blocked Sender Checks started.", r.randint(0, 2))
        block = r.random() < 0.02
        if block:
            d.add("Blocking sender <%s> for <%s>. Action: MoveToJunk" % (sender, rcpts[0]), r.randint(0, 2))
        d.add("Finished running spam checks. Time (non-rbls): %dms, Time (URIBL/RBLS): %dms"
              % (r.randint(0, 40), r.choice((0, 0, 0, r.randint(1, 900)))), r.randint(5, 300))
        d.add("[LocalDeliveryQueue] Begin Processing.", r.randint(0, 20))
        xid = "-%d" % r.randint(10 ** 12, 10 ** 13 - 1)
        failed = False
        for rc in rcpts:
            d.add("Starting local delivery to " + rc, r.randint(0, 5))
            if r.random() < 0.015:
                d.add("Delivery for %s to %s has completed (Failed)" % (sender, rc), r.randint(1, 30))
                d.add("REASON: Mailbox size limit exceeded for " + rc, 0)
                failed = True
            else:
                d.add("Delivery for %s to %s has completed (Delivered)" % (sender, rc), r.randint(1, 30),
                      0, "\t[id:%s]" % xid if r.random() < 0.2 else "")
        if failed and len(rcpts) == 1:
            d.add("Removing Spool message: Killed: False, Failed: True, Finished: False", r.randint(0, 3))
        else:
            d.add("Removing Spool message: Killed: False, Failed: False, Finished: True", r.randint(0, 3))
        d.add("Delivery finished for %s at " % sender, r.randint(0, 3), 2, "\t[id:%s]" % xid)
        return d

    def mx_for(self, dom):
        r = self.r
        style = MX_STYLES.get(dom, "generic")
        if style == "google":
            qid = "%s%d-v6si%d%s.%d" % (r.choice("abcdefghijklmnopqrstuvwxyz"), r.randint(100, 999),
                                        r.randint(1000000, 9999999), r.choice(("itm", "ejb", "qtl", "pfb")),
                                        r.randint(1, 99))
            return ("74.125.%d.%d" % (r.randint(0, 255), r.randint(1, 254)),
                    "220 mx.google.com ESMTP %s - gsmtp" % qid,
                    "250-mx.google.com at your service, [%s]" % SERVER_IP,
                    " %s - gsmtp" % qid)
        if style == "ms":
            h = "%s%02dEUR%02dFT%03d.mail.protection.outlook.com" % (r.choice(("AM", "DB", "VI", "HE")),
                                                                     r.randint(1, 9), r.randint(1, 9),
                                                                     r.randint(1, 999))
            return ("52.101.%d.%d" % (r.randint(0, 255), r.randint(1, 254)),
                    "220 %s Microsoft ESMTP MAIL Service ready" % h,
                    "250-%s Hello [%s]250-SIZE 157286400250-PIPELINING250-8BITMIME250-STARTTLS250 SMTPUTF8"
                    % (h, SERVER_IP), "")
        if style == "yahoo":
            return ("98.136.%d.%d" % (r.randint(0, 255), r.randint(1, 254)),
                    "220 mta%d.am0.yahoodns.net ESMTP ready" % r.randint(1000, 9999),
                    "250-mta%d.am0.yahoodns.net250-PIPELINING250-SIZE 41943040250-8BITMIME250 STARTTLS"
                    % r.randint(1000, 9999), "")
        ip = self.ip4()
        return (ip, "220 mx%d.%s ESMTP Postfix" % (r.randint(1, 3), dom),
                "250-mx.%s250-PIPELINING250-SIZE 52428800250-STARTTLS250-8BITMIME250 DSN" % dom, "")

    def deliv_remote(self, t0, did, sender, rcpt, sz, retry):
        """Returns (sess, deferred?)."""
        r = self.r
        dom = rcpt.split("@")[1]
        d = Sess("[%s] " % did, t0)
        d.add("Delivery started for %s at " % sender, 0, 2)
        d.add("[RemoteDeliveryQueue] Begin Processing.", r.randint(0, 10))
        d.add("Sending remote mail for " + sender, r.randint(0, 5))
        d.add("Sending remote mail to: " + rcpt, 0)
        mxip, banner, ehlo, tail = self.mx_for(dom)
        rtt = r.randint(8, 180)
        d.add("Initiating connection to " + mxip, r.randint(1, 30))
        d.add("Connection to %s:25 from %s:%d succeeded (Id: 1)" % (mxip, SERVER_IP, r.randint(49152, 65535)),
              rtt)
        d.add("RSP: " + banner, rtt)
        d.add("CMD: EHLO " + HOST, 1)
        d.add("RSP: " + ehlo, rtt)
        d.add("CMD: MAIL FROM:<%s> SIZE=%d" % (sender, sz), 1)
        d.add("RSP: 250 2.1.0 OK" + tail, rtt)
        d.add("CMD: RCPT TO:<%s>" % rcpt, 1)
        x = r.random()
        if retry:
            x = max(x, 0.2)
        xid = "-%d" % r.randint(10 ** 12, 10 ** 13 - 1)
        if x < 0.05:          # deferred
            d.add("RSP: 451 4.7.1 Greylisting in action, please come back later", rtt)
            d.add("CMD: QUIT", 1)
            d.add("RSP: 221 2.0.0 Bye", rtt)
            d.add("Delivery for %s to %s has completed (Deferred)" % (sender, rcpt), r.randint(0, 3))
            d.add("Delivery finished for %s at " % sender, r.randint(0, 3), 2, "\t[id:%s]" % xid)
            return d, True
        if x < 0.09:          # bounced
            reason = "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table" % rcpt
            d.add("RSP: " + reason, rtt)
            d.add("CMD: QUIT", 1)
            d.add("RSP: 221 2.0.0 Bye", rtt)
            d.add("Delivery for %s to %s has completed (Bounced)" % (sender, rcpt), r.randint(0, 3))
            d.add("REASON: " + reason, 0)
            d.add("Removing Spool message: Killed: False, Failed: True, Finished: False", r.randint(0, 3))
            d.add("Delivery finished for %s at " % sender, r.randint(0, 3), 2, "\t[id:%s]" % xid)
            return d, False
        d.add("RSP: 250 2.1.5 OK" + tail, rtt)
        d.add("CMD: DATA", 1)
        d.add("RSP: 354  Go ahead" + tail, rtt)
        if x < 0.11:          # failed after DATA
            reason = "554 5.7.1 Message rejected as spam by Content Filtering."
            d.add("RSP: " + reason, rtt + sz // 5000)
            d.add("CMD: QUIT", 1)
            d.add("RSP: 221 2.0.0 Bye", rtt)
            d.add("Delivery for %s to %s has completed (Failed)" % (sender, rcpt), r.randint(0, 3))
            d.add("REASON: " + reason, 0)
            d.add("Removing Spool message: Killed: False, Failed: True, Finished: False", r.randint(0, 3))
            d.add("Delivery finished for %s at " % sender, r.randint(0, 3), 2, "\t[id:%s]" % xid)
            return d, False
        if x > 0.998:
            exc, cont = EXC_DELIVERY[0]
            d.add(exc + "\r\n" + "\r\n".join(cont), 30000)
        d.add("RSP: 250 2.0.0 OK %d%s" % (1772900000 + r.randint(0, 99999), tail), rtt + sz // 5000)
        d.add("CMD: QUIT", 1)
        d.add("RSP: 221 2.0.0 closing connection" + tail, rtt)
        d.add("Delivery for %s to %s has completed (Delivered)" % (sender, rcpt), r.randint(0, 3),
              0, "\t[id:%s]" % xid if r.random() < 0.2 else "")
        d.add("Removing Spool message: Killed: False, Failed: False, Finished: True", r.randint(0, 3))
        d.add("Delivery finished for %s at " % sender, r.randint(0, 3), 2, "\t[id:%s]" % xid)
        return d, False

    # -- session kinds ------------------------------------------------------------
    def s_inbound(self):
        """Remote MTA delivers to local users."""
        r = self.r
        ip = self.ip6() if r.random() < 0.02 else r.choice(self.mta_pool)
        s = self.open_sess(ip)
        deliv = []
        rtt = r.randint(5, 200)
        self.greet(s)
        name = self.ehlo_name(ip, "mta")
        self.ehlo(s, ip, name, rtt)
        if r.random() < 0.55:
            s.add("cmd: STARTTLS", rtt)
            s.add("rsp: 220 Start TLS negotiation", r.randint(0, 2))
            if r.random() < 0.01:
                s.add("rsp: 554 Security failure", rtt * 2)
                self.close(s, 0, quit=False)
                return s, deliv
            if r.random() < 0.003:
                exc, cont = EXC_SMTP[1]
                s.add(exc + "\r\n" + "\r\n".join(cont), rtt * 2)
                self.close(s, 0, quit=False)
                return s, deliv
            self.ehlo(s, ip, name, rtt * 3, tls=True)
        for _ in range(1 if r.random() < 0.9 else r.randint(2, 4)):
            sender = "" if r.random() < 0.03 else self.remote_addr()
            n = 1 if r.random() < 0.8 else r.randint(2, 4)
            rcpts = [self.local_addr() for _ in range(n)]
            sz = self.size()
            res = self.mail_txn(s, ip, rtt, sender, rcpts, sz, True)
            if res:
                acc, did = res
                deliv.append(self.deliv_local(s.t + r.randint(5, 1500), did, sender or "postmaster@" + HOST, acc))
            else:
                break
        if r.random() < 0.002:
            exc, cont = EXC_SMTP[0]
            s.add(exc + "\r\n" + "\r\n".join(cont), rtt)
            self.close(s, 0, quit=False)
        else:
            self.close(s, rtt, quit=r.random() < 0.93)
        return s, deliv

    def s_submission(self):
        """Authenticated local user sends mail (mostly to remote domains)."""
        r = self.r
        ip = r.choice(self.client_pool)
        s = self.open_sess(ip)
        deliv = []
        rtt = r.randint(10, 120)
        self.greet(s)
        name = self.ehlo_name(ip, "client")
        self.ehlo(s, ip, name, rtt)
        if r.random() < 0.8:
            s.add("cmd: STARTTLS", rtt)
            s.add("rsp: 220 Start TLS negotiation", r.randint(0, 2))
            self.ehlo(s, ip, name, rtt * 3, tls=True)
        user = self.local_addr()
        ok = r.random() < 0.96
        self.auth(s, user, rtt, ok)
        if not ok:
            self.close(s, rtt)
            return s, deliv
        n = 1 if r.random() < 0.75 else r.randint(2, 5)
        rcpts = [self.remote_addr() if r.random() < 0.75 else self.local_addr() for _ in range(n)]
        sz = self.size()
        res = self.mail_txn(s, ip, rtt, user, rcpts, sz, False)
        if res:
            acc, did = res
            t = s.t + r.randint(5, 1500)
            loc = [a for a in acc if a.split("@")[1] in LOCAL_DOMAINS]
            rem = [a for a in acc if a.split("@")[1] not in LOCAL_DOMAINS]
            if loc:
                d = self.deliv_local(t, did, user, loc)
                deliv.append(d)
                t = d.t + r.randint(1, 50)
            for rc in rem:
                d, deferred = self.deliv_remote(t, did, user, rc, sz, False)
                deliv.append(d)
                t = d.t + r.randint(1, 50)
                if deferred:
                    d2, _ = self.deliv_remote(t + r.randint(15, 60) * 60000, did, user, rc, sz, True)
                    deliv.append(d2)
        self.close(s, rtt)
        return s, deliv

    def s_bruteforce(self):
        r = self.r
        ip = r.choice(self.bot_pool)
        s = self.open_sess(ip)
        rtt = r.randint(20, 300)
        self.session_count += 1
        if self.session_count - self.blocked.get(ip, -10 ** 9) < 400:   # block expires
            s.add("rsp: 421 IP blocked by brute force abuse detection rule")
            s.add("connected at ", 0, 1)
            s.add("disconnected at ", r.randint(0, 2), 1)
            return s, []
        self.greet(s)
        self.ehlo(s, ip, self.ehlo_name(ip, "bot"), rtt)
        dom = r.choice(LOCAL_DOMAINS)
        tries = r.choice((1, 1, 1, 2, 3, 3, 5))
        for i in range(tries):
            user = r.choice(BRUTE_USERS) + ("@" + dom if r.random() < 0.6 else "")
            self.auth(s, user, rtt, False)
            if r.random() < 0.25:       # TAB continuation line on the 535 record
                t0, txt0, f0, suf0 = s.recs[-1]
                s.recs[-1] = (t0, txt0, f0, suf0 + "\r\n\tBrute force attempts increased to %d of 10 in 5 minutes."
                              % min(10, i + r.randint(1, 3)))
        if tries >= 3:
            s.add("rsp: 421 Disconnecting: too many authentication failures", 1)
            self.close(s, 0, quit=False)
            if r.random() < 0.5:
                self.blocked[ip] = self.session_count
                s.add("Added to IDS block list for violating rule SMTP brute force "
                      "(%d failures in 5 minutes). Blocked for 60 minutes." % tries,
                      r.randint(0, 5), pre="[IpBruteForceDetector] [%s] " % ip)
        else:
            self.close(s, rtt, quit=r.random() < 0.5)
        return s, []

    def s_rejected(self):
        r = self.r
        ip = r.choice(self.bot_pool)
        s = self.open_sess(ip)
        rtt = r.randint(20, 300)
        x = r.random()
        if x < 0.45:
            s.add("rsp: 554 Sending IP is blacklisted: listed by zen.spamhaus.org")
            s.add("connected at ", 0, 1)
            s.add("disconnected at ", r.randint(0, 2), 1)
            return s, []
        self.greet(s)
        if x < 0.65:
            s.add("cmd: EHLO " + self.ehlo_name(ip, "bot"), rtt)
            s.add("rsp: 554 Connection rejected by EHLO SMTP blocking rule", r.randint(0, 2))
            self.close(s, 0, quit=False)
            return s, []
        self.ehlo(s, ip, self.ehlo_name(ip, "bot"), rtt)
        sender = self.remote_addr()
        s.add("cmd: MAIL FROM:<%s> SIZE=%d" % (sender, self.size()), rtt)
        s.add("Sender accepted. Weight: %d" % r.choice((0, 10, 20, 30)), 1)
        s.add("rsp: 250 OK <%s> Sender ok" % sender, 0)
        rc = self.local_addr()
        s.add("cmd: RCPT TO:<%s>" % rc, rtt)
        if x < 0.85:
            s.add("rsp: 550 Mail rejected due to SMTP Spam Blocking", r.randint(20, 600))
        else:
            s.add("rsp: 421 Too many connections from your IP, try again later", r.randint(0, 3))
        self.close(s, rtt, quit=r.random() < 0.6)
        return s, []

    def s_probe(self):
        r = self.r
        ip = r.choice(self.bot_pool)
        s = self.open_sess(ip)
        rtt = r.randint(20, 300)
        self.greet(s)
        x = r.random()
        if x < 0.5:
            self.ehlo(s, ip, self.ehlo_name(ip, "bot"), rtt)
            self.close(s, rtt)
        elif x < 0.7:
            s.add("cmd: GET / HTTP/1.1", rtt)
            s.add("rsp: 500 Command not recognized", 0)
            s.add("cmd: Host: " + ip, 1)
            s.add("rsp: 500 Command not recognized", 0)
            self.close(s, rtt, quit=False)
        elif x < 0.85:
            self.ehlo(s, ip, self.ehlo_name(ip, "bot"), rtt)
            s.add("rsp: 421 Idle timeout, closing transmission channel", 30000)
            self.close(s, 0, quit=False)
        else:
            self.close(s, r.randint(0, 50), quit=False)
        return s, []

    def session(self):
        x = self.r.random()
        if x < 0.40:
            return self.s_inbound()
        if x < 0.58:
            return self.s_submission()
        if x < 0.72:
            return self.s_bruteforce()
        if x < 0.86:
            return self.s_rejected()
        return self.s_probe()


def gen_day(rnd, date, target, spool_base, sid_base):
    """-> (smtp records, delivery records), each a sorted list of (abs_ms, text)."""
    g = Gen(rnd, date, spool_base, sid_base)
    r = rnd
    # Background (absolute-time) records first.
    smtp_bg, deliv_bg = [], []
    us = g.us_date
    # (skipped for tiny corpora so that --records stays roughly honest)
    if target >= 2000:
        for h in range(24):
            t = h * 3_600_000 + r.randint(60_000, 240_000)
            deliv_bg.append((t, "Updating ClamAV database..."))
    if target >= 200:
        t = r.randint(3, 5) * 3_600_000 + r.randint(0, 3_599_000)
        smtp_bg.append((t, "smtp started at %s %s" % (us, fmt_12h(t))))
        deliv_bg.append((t + 850, "Delivery server started at %s %s" % (us, fmt_12h(t + 850))))
        if r.random() < 0.9:
            exc, cont = EXC_GLOBAL[0]
            smtp_bg.append((t + 400, exc + "\r\n" + "\r\n".join(cont)))
    count = len(smtp_bg) + len(deliv_bg)

    sessions = []
    while count < target:
        s, dl = g.session()
        sessions.append((s, dl))
        count += len(s.recs) + sum(len(d.recs) for d in dl)

    # Spread session starts over the day (diurnal), in id order.
    cum, acc = [], 0
    for w in HOUR_WEIGHTS:
        acc += w
        cum.append(acc)
    starts = sorted(h * 3_600_000 + r.randrange(3_600_000)
                    for h in r.choices(range(24), cum_weights=cum, k=len(sessions)))
    last_ok = DAY_MS - 1
    limit = DAY_MS - 600_000
    starts = [min(st, limit) for st in starts]

    def materialize(out, recs, st):
        for off, text, flag, suf in recs:
            t = st + off
            if t > last_ok:
                continue            # retries that would fall into tomorrow
            if flag == 1:
                text = text + us + " " + fmt_12h(t) + suf
            elif flag == 2:
                text = text + fmt_12h(t) + suf
            elif suf:
                text = text + suf
            out.append((t, text))

    smtp, deliv = smtp_bg, deliv_bg
    for (s, dl), st in zip(sessions, starts):
        materialize(smtp, s.recs, st)
        for d in dl:
            materialize(deliv, d.recs, st)
    smtp.sort(key=lambda x: x[0])
    deliv.sort(key=lambda x: x[0])
    return smtp, deliv, g.spool, g.sid


def write_file(path, recs, form, date, rnd):
    """Write records; return (records, bytes)."""
    parts = []
    app = parts.append
    if form == "viewer":
        dpre = "[%04d.%02d.%02d] " % (date.year, date.month, date.day)
        rr = rnd.random
    for t, text in recs:
        s, ms = divmod(t, 1000)
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        if form == "viewer":
            if rr() < 0.05:
                app("%s%02d:%02d:%02d %s\r\n" % (dpre, h, m, sec, text))
            else:
                app("%s%02d:%02d:%02d.%03d %s\r\n" % (dpre, h, m, sec, ms, text))
        else:
            app("%02d:%02d:%02d.%03d %s\r\n" % (h, m, sec, ms, text))
    data = "".join(parts).encode("latin-1")
    with open(path, "wb") as f:
        f.write(data)
    return len(recs), len(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, required=True, help="timestamped records in total (approx.)")
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--form", choices=("disk", "viewer", "mixed"), default="mixed")
    ap.add_argument("--date", default="2026.03.08", help="first day, YYYY.MM.DD (default 2026.03.08)")
    a = ap.parse_args(argv)
    if a.records < 1:
        ap.error("--records must be >= 1")
    day0 = datetime.datetime.strptime(a.date, "%Y.%m.%d").date()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(a.seed)

    if a.form == "mixed":
        plan = [(day0, "disk", a.records - a.records // 2),
                (day0 + datetime.timedelta(days=1), "viewer", a.records // 2)]
    else:
        plan = [(day0, a.form, a.records)]

    spool = 706170000000 + rnd.randrange(1_000_000)
    sid = 41_200_000 + rnd.randrange(100_000)
    tot_r = tot_b = files = 0
    for day, form, target in plan:
        if target <= 0:
            continue
        smtp, deliv, spool, sid = gen_day(rnd, day, target, spool, sid)
        stem = "%04d.%02d.%02d" % (day.year, day.month, day.day)
        for kind, recs in (("smtpLog", smtp), ("delivery", deliv)):
            n, b = write_file(os.path.join(a.out, "%s-%s.log" % (stem, kind)), recs, form, day, rnd)
            tot_r += n
            tot_b += b
            files += 1
    print("records=%d bytes=%d files=%d" % (tot_r, tot_b, files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
