"""Entries of the log directory and states of the host that must not stall,
spin or lose: a FIFO or a device named like a log file, entries that cannot
be opened, a second daemon on the same state directory, a first start on a
full state directory, a damaged checkpoint, an empty log directory
setting, more files than the soft descriptor limit, a timezone that names
no zone, and a day's file compressed into its .log.zip while the daemon was
stopped. Each runs the real daemon on real files."""
import os
import resource
import shutil
import signal
import subprocess
import time

from benchutil import proc_cpu_s
from conftest import wait_for

SMTP = "2026.09.18-smtpLog.log"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_fifo_and_device_named_like_logs_are_skipped(env):
    """A FIFO (whose open() would wait for a writer forever) and a link to a
    device that never ends sit beside a real log: the real log's records
    come out, each odd entry is warned about once, and SIGTERM is answered."""
    os.mkfifo(env.log.file("2026.09.18-imapLog.log"))
    os.symlink("/dev/zero", env.log.file("2026.09.18-popLog.log"))
    recs = env.log.append(SMTP, 5)
    sh = env.shim
    sh.start("--from", "beginning")
    sh.wait_events(recs)
    more = env.log.append(SMTP, 3)
    sh.wait_events(recs + more)
    err = sh.stderr()
    for name in ("2026.09.18-imapLog.log", "2026.09.18-popLog.log"):
        assert err.count(f"{name}: not a regular file") == 1, err
    t0 = time.monotonic()
    assert sh.stop() == 0
    assert time.monotonic() - t0 < 5


def test_unopenable_entries_cost_no_cpu(env):
    """A dangling link and a link loop named like logs: warned about once,
    then waited on at no cost (the daemon used to spin a core), while a
    readable file's records come out. (That such an entry is read once it
    opens is test_faults.py's test_unreadable_file_is_retried.)"""
    dangling = env.log.file("2026.09.18-delivery.log")
    os.symlink(dangling + ".missing", dangling)
    loop_a = env.log.file("2026.09.18-imapLog.log")
    os.symlink(loop_a, loop_a)
    recs = env.log.append(SMTP, 4)
    sh = env.shim
    sh.start("--from", "beginning")
    sh.wait_events(recs)
    time.sleep(0.5)
    cpu0, t0 = proc_cpu_s(sh.proc.pid), time.monotonic()
    time.sleep(3)
    used = proc_cpu_s(sh.proc.pid) - cpu0
    wall = time.monotonic() - t0
    # a spinning loop uses the whole core (about 3 s here); waiting, ~0
    assert used < 0.3 * wall, f"{used:.2f} CPU s in {wall:.1f} s while waiting"
    assert sh.stderr().count("cannot open") == 2, sh.stderr()
    more = env.log.append(SMTP, 2)
    sh.wait_events(recs + more)
    assert sh.stop() == 0


def test_second_daemon_on_the_same_state_is_refused(env):
    """Two daemons on one state directory would emit every record twice: the
    second one exits 2 naming the first one's pid, the first goes on."""
    recs = env.log.append(SMTP, 3)
    sh = env.shim
    sh.start("--from", "beginning")
    sh.wait_events(recs)
    second = subprocess.run([sh.bin, "run", "--allow-root", "--logs", env.logs, "--state",
                             env.state, "--output", "file:" + env.out + ".second",
                             "--timezone", "Etc/UTC", "--from", "beginning"],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 2, second.stderr
    assert f"in use by another smartermail-shim (pid {sh.proc.pid})" in second.stderr
    assert not os.path.exists(env.out + ".second"), "the refused daemon opened its output"
    more = env.log.append(SMTP, 2)
    sh.wait_events(recs + more)
    assert sh.stop() == 0
    assert len(sh.keys()) == len(set(sh.keys())), "a record came out twice"


def test_first_start_on_a_full_state_directory(env, tmp_path):
    """A first start that cannot write its checkpoint does not start (exit
    1): otherwise the next start would be a first start again and skip what
    was written meanwhile. Once there is room, the start writes the
    checkpoint before reading, and after a crash nothing is skipped."""
    state = str(tmp_path / "small-state")
    os.mkdir(state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", state], check=True)
    try:
        filler = os.path.join(state, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"x" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        sh = env.shim
        sh.state = state
        env.log.append(SMTP, 3)
        proc = subprocess.run([sh.bin, "run", "--allow-root", "--logs", env.logs, "--state", state,
                               "--output", "file:" + env.out, "--timezone", "Etc/UTC"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 1, proc.stderr
        assert "refusing to start: the first checkpoint could not be written" in proc.stderr
        os.unlink(filler)
        sh.start()
        assert "checkpoint.json" in os.listdir(state), "no checkpoint before reading"
        recs = env.log.append(SMTP, 2)
        sh.wait_events(recs)
        sh.kill9()
        later = env.log.append(SMTP, 3)     # written while it is down
        sh.start()
        sh.wait_events(recs + later)
        assert sh.stop() == 0
    finally:
        subprocess.run(["umount", "-l", state], check=False)


def test_damaged_checkpoint_stops_before_any_output_is_opened(env):
    """A damaged checkpoint exits 2 before the outputs are opened: no output
    file is created."""
    with open(os.path.join(env.state, "checkpoint.json"), "w") as f:
        f.write('{"version": 1, "files": [ {"name": ')
    env.log.append(SMTP, 2)
    proc = subprocess.run([env.shim.bin, "run", "--allow-root", "--logs", env.logs, "--state",
                           env.state, "--output", "file:" + env.out, "--timezone", "Etc/UTC"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "damaged checkpoint" in proc.stderr
    assert not os.path.exists(env.out), "the output was created"


def test_empty_log_directory_setting_exits_2(env, tmp_path):
    """`logs =` with no value is a configuration error naming the line, not
    a wait for a directory called ""."""
    conf = tmp_path / "shim.conf"
    conf.write_text(f"state = {env.state}\noutput = file:{env.out}\ntimezone = Etc/UTC\n"
                    "logs =\n")
    proc = subprocess.run([env.shim.bin, "run", "--allow-root", "--config", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert f"{conf}:4: logs: no log directory given" in proc.stderr, proc.stderr


def test_more_files_than_the_soft_descriptor_limit(env):
    """1,100 daily files under systemd's default soft limit of 1,024
    descriptors (hard limit higher): the daemon raises its soft limit, reads
    every file and writes its checkpoint."""
    names = []
    recs = []
    for i in range(1100):
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        year = 2020 + i // (28 * 12)
        name = f"{year}.{month:02}.{day:02}-smtpLog.log"
        names.append(name)
        recs += env.log.append(name, 1)

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 4096))
    sh = env.shim
    cmd = [sh.bin, "run", "--allow-root", "--logs", env.logs, "--state", env.state,
           "--output", "file:" + env.out, "-v", *sh.base_args, "--from", "beginning"]
    sh.nstarts += 1
    sh.err_path = os.path.join(sh.tmp, f"stderr.{sh.nstarts}.txt")
    with open(sh.err_path, "wb") as err:
        sh.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=err, preexec_fn=limit)
    sh.procs.append(sh.proc)
    sh.wait_events(recs, timeout=60)
    wait_for(lambda: len(sh.checkpoint()) == len(names), "every file in the checkpoint", 30,
             on_timeout=sh.tail)
    assert "Too many open files" not in sh.stderr()
    assert sh.stop() == 0


def test_timezone_that_is_not_a_zone_exits_2(env, tmp_path):
    """A `timezone` naming something that exists but is no compiled zone (a
    directory of zones, a table beside them, any other file) exits 2 naming
    the line; glibc used to read it as UTC without a word, hours off. A real
    zone given the same way starts."""
    env.log.append(SMTP, 2)
    for value in ("America", "zone.tab", "/etc/passwd", "Mars/Olympus"):
        conf = tmp_path / "shim.conf"
        conf.write_text(f"logs = {env.logs}\nstate = {env.state}\noutput = file:{env.out}\n"
                        f"timezone = {value}\n")
        proc = subprocess.run([env.shim.bin, "run", "--allow-root", "--config", str(conf)],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2, (value, proc.stderr)
        assert f"{conf}:4: timezone: unknown zone '{value}'" in proc.stderr, proc.stderr
        assert not os.path.exists(env.out), "the output was created"
    proc = subprocess.run([env.shim.bin, "search", "--timezone", "America", "x", env.logs],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "--timezone: unknown zone 'America'" in proc.stderr, proc.stderr
    sh = env.shim
    sh.base_args = ["--timezone", "America/Chicago", "--host-name", "test-host"]
    recs = env.log.append(SMTP, 1)
    sh.start("--from", "beginning")
    sh.wait_events(recs)
    assert sh.stop() == 0


def test_day_compressed_while_stopped_is_read_from_its_archive(env):
    """Records written to a day's file while the daemon was down, after which
    SmarterMail's maintenance compressed the file into NAME.zip and deleted
    it: at the next start they are read from the archive, from the
    checkpoint's offset to its end, each once (they were lost); the file is
    then let go, and a later start reads nothing of it again. An archive
    that is a FIFO is passed over without waiting on it. (The
    archive's copy has no offsets of its own: it is read only at start,
    for a checkpoint entry whose first bytes it shares.)"""
    import zipfile
    name = "2026.09.17-smtpLog.log"
    fifo_day = "2026.09.16-smtpLog.log"
    recs = env.log.append(name, 5) + env.log.append(fifo_day, 2)
    sh = env.shim
    sh.start("--from", "beginning")
    sh.wait_events(recs)
    assert sh.stop() == 0
    assert sh.checkpoint()[name] == os.path.getsize(env.log.file(name))
    assert fifo_day in sh.checkpoint()
    while_down = env.log.append(name, 4)
    path = env.log.file(name)
    size = os.path.getsize(path)
    with zipfile.ZipFile(path + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, name)
    os.unlink(path)
    # an archive that is a FIFO would hang a blocking open: skipped
    env.log.append(fifo_day, 1)
    os.unlink(env.log.file(fifo_day))
    os.mkfifo(env.log.file(fifo_day) + ".zip")
    today = env.log.append(SMTP, 2)
    sh.start()
    sh.wait_events(recs + while_down + today)
    assert sh.stop() == 0
    # read to the archive's end, or forgotten (let go, its name gone)
    assert sh.checkpoint().get(name, size) == size, sh.checkpoint()
    assert f"{name}: compressed into {name}.zip while stopped" in sh.stderr(), sh.tail()
    keys = sh.keys()
    assert len(keys) == len(set(keys)), "a record came out twice"
    sh.start()
    more = env.log.append(SMTP, 1)
    sh.wait_events(recs + while_down + today + more)
    assert sh.stop() == 0
    keys = sh.keys()
    assert len(keys) == len(set(keys)), "a record came out twice after the restart"
