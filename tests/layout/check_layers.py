#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The source tree's shape, checked: modules (a .c and its .h under one
name) may include only modules of their own folder or of a folder below
theirs, and no two modules may include each other, directly or around a
longer cycle. Folders, lowest first: base, core, outputs, query, daemon,
cli (query and daemon do not include each other). A call needs the
callee's header; with a build directory as second argument the calls
themselves are checked too, from the objects' symbol tables (nm): a
module that calls another (an undefined symbol the other defines) depends
on it, and these calls may not form a cycle either (a function declared in
a shared header does not hide one).
Exit 1 with every violation listed, else 0."""
import os
import re
import subprocess
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "shim"
RANK = {"base": 0, "core": 1, "outputs": 2, "query": 3, "daemon": 3, "cli": 4}
# Upward includes that are the design, each with its reason.
ALLOWED = {
    # the settings struct holds each output's config struct, so that one
    # engine parses, documents and checks every option (data only: the
    # outputs' option rows need only base/optspec)
    ("base/options", "outputs/syslog_opts"),
    ("base/options", "outputs/kafka_opts"),
}
INC = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([a-z_0-9]+)\.h"', re.M)


def modules(root):
    """module name -> (folder, [included modules])"""
    mods = {}
    for folder in sorted(os.listdir(root)):
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith((".c", ".h")):
                continue
            name = folder + "/" + re.sub(r"_int$", "", f[:-2])
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                deps = {a + "/" + b for a, b in INC.findall(fh.read())}
            deps = {re.sub(r"_int$", "", x) for x in deps}
            entry = mods.setdefault(name, (folder, set()))
            entry[1].update(deps - {name})
    return mods


def cycles(mods):
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(mods.get(m, ("", set()))[1]):
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n in mods and not state.get(n):
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(mods):
        if not state.get(m):
            visit(m)
    return found


def calls(build):
    """module -> set of modules it calls, from nm on build/<folder>/<m>.o"""
    defs, undef = {}, {}
    for folder in sorted(os.listdir(build)):
        d = os.path.join(build, folder)
        if folder not in RANK or not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(".o"):
                continue
            m = folder + "/" + f[:-2]
            out = subprocess.run(["nm", os.path.join(d, f)], capture_output=True,
                                 text=True, check=True).stdout
            undef[m] = set()
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == "U":
                    undef[m].add(parts[1])
                elif len(parts) == 3 and parts[1] in "TDBR":
                    defs[parts[2]] = m
    return {m: {defs[s] for s in syms if s in defs} - {m} for m, syms in undef.items()}


def main():
    mods = modules(ROOT)
    bad = []
    if len(sys.argv) > 2:
        graph = {m: ("", deps) for m, deps in calls(sys.argv[2]).items()}
        for c in cycles(graph):
            bad.append("call cycle: " + " -> ".join(c))
    for m, (folder, deps) in sorted(mods.items()):
        if folder not in RANK:
            bad.append(f"{m}: folder {folder} has no place in the layering")
            continue
        for d in sorted(deps):
            df = d.split("/")[0]
            if d not in mods:
                bad.append(f"{m} includes {d}, which does not exist")
            elif df != folder and RANK.get(df, 99) >= RANK[folder] and (m, d) not in ALLOWED:
                bad.append(f"{m} ({folder}) includes {d} ({df}): not a lower folder")
    for c in cycles(mods):
        bad.append("include cycle: " + " -> ".join(c))
    for b in bad:
        print(b)
    print(f"layers: {len(mods)} modules, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
