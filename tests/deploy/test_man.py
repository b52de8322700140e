# SPDX-License-Identifier: MIT
"""The man pages and --help cannot drift apart: smartermail-shim(1) lists
exactly the options --help lists, in the same order and with the same words;
smartermail-shim.conf(5) lists exactly the run options a config file takes;
both list exactly the commands of --help's usage. And both render without a
single groff warning.

The pages are the build's (make man): $MAN_DIR, checked against $SHIM."""

import os
import re
import subprocess

import pytest

SHIM = os.environ.get("SHIM", "./smartermail-shim")
MAN_DIR = os.environ.get("MAN_DIR", "build/man")
PAGES = ["smartermail-shim.1", "smartermail-shim.conf.5"]
NOT_IN_CONFIG = {"config", "help", "version"}


def page(name):
    path = os.path.join(MAN_DIR, name)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run make man")
    return path


def render(name):
    """The page as plain text, as man shows it, one very long line per
    paragraph so that nothing wraps."""
    env = dict(os.environ, MANWIDTH="1000", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    r = subprocess.run(["man", "-l", page(name)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    text = re.sub(r".\x08", "", r.stdout)
    # groff's typographic characters back to what --help prints
    for a, b in (("\u2010", "-"), ("\u2011", "-"), ("\u2212", "-"), ("\u2019", "'"),
                 ("\u2018", "`"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(a, b)
    return text


def norm(s):
    return " ".join(s.split())


def sections(text):
    """{heading: [lines]} of a rendered page."""
    out, cur = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.upper() == line:
            cur = line.strip()
            out[cur] = []
        elif cur:
            out[cur].append(line)
    return out


def tagged(lines):
    """(tag, description) pairs of a .TP list: a tag at the section's indent,
    its paragraph indented deeper; text at the section's indent that comes
    before the first tag is the section's introduction."""
    entries, indent = [], None
    for line in lines:
        if not line.strip():
            continue
        ind = len(line) - len(line.lstrip())
        if indent is None:
            indent = ind
        if ind == indent:
            entries.append([line.strip(), ""])
        elif entries:
            entries[-1][1] += " " + line.strip()
    return [(norm(t), norm(d)) for t, d in entries]


def help_text(*cmd):
    r = subprocess.run([SHIM, *cmd, "--help"], capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)} --help: {r.stderr}"
    return r.stdout


def help_commands():
    usage = help_text().split("\n\n", 1)[0]
    return sorted(set(re.findall(r"smartermail-shim ([a-z][a-z-]*)", usage)))


def help_options():
    """Every option line of --help and of each command's --help (a command
    may list options of its own), whitespace collapsed: "-z, --timezone ZONE
    IANA zone ...", each once."""
    seen = []
    for cmd in [[]] + [[c] for c in help_commands()]:
        text = help_text(*cmd)
        if "\nOptions:\n" not in text:
            continue
        for line in text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0].splitlines():
            if line.strip() and norm(line) not in seen:
                seen.append(norm(line))
    return seen


MODES = re.compile(r" \(((?:run|parse|search|report|fields)(?:, (?:run|parse|search|report|fields))*)\)$")


def man1_options():
    """[(help-style line, [modes])] from the OPTIONS of smartermail-shim(1)."""
    entries = tagged(sections(render("smartermail-shim.1"))["OPTIONS"])
    out = []
    for tag, desc in entries:
        if not tag.startswith("-"):
            continue            # the introduction
        m = MODES.search(tag)
        assert m, f"smartermail-shim(1): option {tag!r} does not say its commands"
        out.append((norm(tag[:m.start()] + " " + desc), m.group(1).split(", ")))
    return out


@pytest.mark.parametrize("name", PAGES)
def test_renders_without_warnings(name):
    for cmd in (["groff", "-man", "-Tutf8", "-ww", "-z", page(name)],
                ["man", "--warnings=w", "-l", page(name)]):
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80"))
        assert r.returncode == 0 and r.stderr == "", f"{' '.join(cmd)}:\n{r.stderr}"


def test_man1_options_are_the_help_options():
    man = [line for line, _ in man1_options()]
    hlp = help_options()
    only_man = [l for l in man if l not in hlp]
    only_help = [l for l in hlp if l not in man]
    assert not only_man and not only_help, (
        "smartermail-shim(1) OPTIONS and --help differ:\n"
        + "".join(f"  only in the man page: {l}\n" for l in only_man)
        + "".join(f"  only in --help:       {l}\n" for l in only_help))
    assert len(man) == len(set(man)), "an option is listed twice in smartermail-shim(1)"


def test_man5_keys_are_the_config_options():
    want = []
    for line, modes in man1_options():
        m = re.match(r"(?:-\w, )?--([a-z0-9-]+)(?: (\S+))? (.*)$", line)
        name = m.group(1)
        if "run" in modes and name not in NOT_IN_CONFIG:
            want.append(name)
    got, descs = [], {}
    for tag, desc in tagged(sections(render("smartermail-shim.conf.5"))["KEYS"]):
        key = tag.split(" = ")[0]
        if key.startswith("kafka.NAME"):
            continue            # the hand-written entry for kafka.NAME = VALUE
        got.append(key)
        descs[key] = desc
    assert got == want, f"smartermail-shim.conf(5) KEYS {got} != config options {want}"
    # the same words as --help
    for line, modes in man1_options():
        m = re.match(r"(?:-\w, )?--([a-z0-9-]+) ", line)
        if m.group(1) in descs and "run" in modes:
            assert line.endswith(" " + descs[m.group(1)]), (line, descs[m.group(1)])


@pytest.mark.parametrize("name", PAGES[:1])
def test_commands_are_the_help_commands(name):
    text = sections(render(name))
    synopsis = " ".join(text["SYNOPSIS"])
    in_synopsis = sorted(set(re.findall(r"smartermail-shim ([a-z][a-z-]*)", synopsis)))
    assert in_synopsis == help_commands()
    described = sorted(t.split()[0] for t, _ in tagged(text["COMMANDS"]))
    assert described == help_commands()
