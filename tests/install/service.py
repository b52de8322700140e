# SPDX-License-Identifier: MIT
"""A stand-in for systemd starting one service, for tests/install, which
runs in a scratch root on a machine that has no systemd as PID 1.

    service.py start UNIT      set up and start it; return once it sent READY=1
    service.py status UNIT     "active (running)" and its last STATUS=, or exit 3
    service.py stop UNIT       SIGTERM; wait; exit with the service's exit status

It reads the installed unit file and does what these settings of it say:
ExecStart=, User=, Group=, StateDirectory=, StateDirectoryMode=,
LogsDirectory=, LogsDirectoryMode=, LoadCredential=, UMask=, WatchdogSec=,
TimeoutStopSec=, Type=notify (a NOTIFY_SOCKET, READY=1 awaited). The
process runs without capabilities and with no_new_privs (setpriv). The
namespace and seccomp settings are not reproduced: systemd-analyze
security rates them instead. The daemon's standard error goes to
RUN/stderr.log (under systemd: the journal)."""

import os
import pwd
import grp
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

UNIT_DIRS = ["/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system"]
RUN = "/run/install-test"
READY_DEADLINE_S = 20.0


def unit_file(unit):
    for d in UNIT_DIRS:
        p = os.path.join(d, unit)
        if os.path.exists(p):
            return p
    sys.exit(f"service.py: {unit}: no unit file in {UNIT_DIRS}")


def parse_unit(path):
    """{key: [values]} of the [Service] section (continuation lines joined)."""
    out, section, pending = {}, None, ""
    for raw in open(path, encoding="utf-8"):
        line = pending + raw.rstrip("\n")
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            section = s.strip("[]")
            continue
        if section == "Service" and "=" in s:
            k, v = s.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def one(svc, key, default=None):
    v = svc.get(key)
    return v[-1] if v else default


def seconds(text):
    text = text.strip()
    for suffix, mult in (("ms", 0.001), ("min", 60), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * mult
    return float(text)


def rundir(unit):
    return os.path.join(RUN, unit)


def setup(unit, svc):
    user, group = one(svc, "User"), one(svc, "Group")
    assert user and user != "root", f"{unit}: User= must name a non-root account"
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group or user).gr_gid
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "HOME": pwd.getpwnam(user).pw_dir, "USER": user,
           "LOGNAME": user}
    for key, base, var in (("StateDirectory", "/var/lib", "STATE_DIRECTORY"),
                           ("LogsDirectory", "/var/log", "LOGS_DIRECTORY")):
        names = " ".join(svc.get(key, [])).split()
        mode = int(one(svc, key + "Mode", "0755"), 8)
        for name in names:
            d = os.path.join(base, name)
            os.makedirs(d, exist_ok=True)
            os.chown(d, uid, gid)
            os.chmod(d, mode)
        if names:
            env[var] = ":".join(os.path.join(base, n) for n in names)
    creds = f"/run/credentials/{unit}"
    if svc.get("LoadCredential"):
        shutil.rmtree(creds, ignore_errors=True)
        os.makedirs(creds, mode=0o700)
        for spec in svc["LoadCredential"]:
            name, src = spec.split(":", 1)
            dst = os.path.join(creds, name)
            shutil.copyfile(src, dst)
            os.chown(dst, uid, gid)
            os.chmod(dst, 0o400)
        os.chown(creds, uid, gid)
        os.chmod(creds, 0o500)
        env["CREDENTIALS_DIRECTORY"] = creds
    if one(svc, "WatchdogSec"):
        env["WATCHDOG_USEC"] = str(int(seconds(one(svc, "WatchdogSec")) * 1e6))
    env["NOTIFY_SOCKET"] = os.path.join(rundir(unit), "notify")
    argv = []
    for word in shlex.split(one(svc, "ExecStart")):
        for k, v in env.items():
            word = word.replace("${" + k + "}", v)
        argv.append(word)
    assert "$" not in " ".join(argv), f"ExecStart= names a variable systemd would set: {argv}"
    return uid, gid, env, argv


def supervise(unit):
    """The background half: own the notify socket, run the service, log
    what it says, record how it ended."""
    svc = parse_unit(unit_file(unit))
    uid, gid, env, argv = setup(unit, svc)
    d = rundir(unit)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(env["NOTIFY_SOCKET"])
    os.chmod(env["NOTIFY_SOCKET"], 0o777)       # the service is not root
    umask = int(one(svc, "UMask", "0022"), 8)
    cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs",
           "--inh-caps=-all", "--bounding-set=-all", "--", *argv]
    with open(os.path.join(d, "stderr.log"), "wb") as err:
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                             preexec_fn=lambda: os.umask(umask))
    with open(os.path.join(d, "pid"), "w") as f:
        f.write(str(p.pid))
    sock.settimeout(0.1)
    with open(os.path.join(d, "notify.log"), "a") as log:
        while p.poll() is None:
            try:
                log.write(sock.recv(4096).decode() + "\n")
                log.flush()
            except socket.timeout:
                pass
    with open(os.path.join(d, "exit"), "w") as f:
        f.write(str(p.returncode))


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return default


def start(unit):
    svc = parse_unit(unit_file(unit))
    assert one(svc, "Type") == "notify", "this stand-in only knows Type=notify"
    d = rundir(unit)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "supervise", unit],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=open(os.path.join(d, "supervisor.log"), "w"),
                     stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_DEADLINE_S
    while "READY=1" not in read(os.path.join(d, "notify.log")):
        if read(os.path.join(d, "exit")) or time.monotonic() > deadline:
            sys.exit(f"{unit} did not become ready (exit status {read(os.path.join(d, 'exit')) or 'none'}):\n"
                     + read(os.path.join(d, "supervisor.log")) + read(os.path.join(d, "stderr.log")))
        time.sleep(0.02)
    print(f"(stand-in) started {unit} as pid {read(os.path.join(d, 'pid'))}: READY=1")


def status(unit):
    d = rundir(unit)
    pid = read(os.path.join(d, "pid")).strip()
    if not pid or read(os.path.join(d, "exit")) or not os.path.exists(f"/proc/{pid}"):
        print(f"{unit}: not running (exit status {read(os.path.join(d, 'exit')) or 'none'})")
        print(read(os.path.join(d, "stderr.log")))
        sys.exit(3)
    uid = next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Uid:"))
    statuses = [l[7:] for l in read(os.path.join(d, "notify.log")).splitlines() if l.startswith("STATUS=")]
    print(f"(stand-in) {unit}\n     Active: active (running)\n   Main PID: {pid}, user "
          f"{pwd.getpwuid(int(uid)).pw_name}")
    if statuses:
        print(f"     Status: \"{statuses[-1]}\"")


def stop(unit):
    svc = parse_unit(unit_file(unit))
    d = rundir(unit)
    pid = int(read(os.path.join(d, "pid")))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds(one(svc, "TimeoutStopSec", "90s"))
    while not read(os.path.join(d, "exit")):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            sys.exit(f"{unit} did not stop within TimeoutStopSec=")
        time.sleep(0.02)
    code = int(read(os.path.join(d, "exit")))
    print(f"(stand-in) stopped {unit}: exit status {code}")
    sys.exit(code)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "status", "stop", "supervise"):
        sys.exit(__doc__)
    name = sys.argv[2] if "." in sys.argv[2] else sys.argv[2] + ".service"     # as systemctl
    {"start": start, "status": status, "stop": stop, "supervise": supervise}[sys.argv[1]](name)
