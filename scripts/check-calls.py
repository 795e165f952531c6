#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check lib/'s calls on the built objects: no file calls a function
(or uses data) defined in a higher layer, and no files call each other
in a circle, directly or through others.  check-layers.sh checks the
includes; this sees what an include does not show, such as a function
declared in a lower header but defined above it.

usage: check-calls.py BUILDDIR

Reads the objects of BUILDDIR/lib/libvixdisklib-internal.a.p (one per
source file, named FOLDER_FILE.c.o by meson) with nm.  Exits 1 listing
each upward call (caller, callee, symbol) and each circle of files.
"""

import collections
import os
import re
import subprocess
import sys


def read_layers():
    """The layers, top to bottom, from check-layers.sh's LAYERS=( ... ):
    one list for both checks."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "check-layers.sh")
    text = open(path).read()
    block = re.search(r"^LAYERS=\((.*?)^\)", text, re.M | re.S)
    if not block:
        sys.exit("check-calls.py: no LAYERS=( ... ) in %s" % path)
    words = [line.split("#")[0].split() for line in block.group(1).splitlines()]
    return [w[0] for w in words if w]


LAYERS = read_layers()


def objects(builddir):
    d = os.path.join(builddir, "lib", "libvixdisklib-internal.a.p")
    if not os.path.isdir(d):
        sys.exit("check-calls.py: %s: not built (make build)" % d)
    out = {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".c.o"):
            continue
        folder, _, rest = name.partition("_")
        if folder not in LAYERS:
            continue                    # common/ sources, shared by all
        out["%s/%s" % (folder, rest[:-2])] = os.path.join(d, name)
    return out


def symbols(path):
    """(defined, undefined) global symbols of an object."""
    text = subprocess.run(["nm", path], check=True, capture_output=True,
                          text=True).stdout
    defined, undefined = set(), set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWG":
            defined.add(parts[2])
    return defined, undefined


def circles(edges, nodes):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    objs = objects(argv[1])
    owner, needs = {}, {}
    for f, path in objs.items():
        defined, undefined = symbols(path)
        for s in defined:
            owner[s] = f
        needs[f] = undefined
    edges = collections.defaultdict(set)
    why = collections.defaultdict(set)
    for f, undefined in needs.items():
        for s in undefined:
            g = owner.get(s)
            if g and g != f:
                edges[f].add(g)
                why[(f, g)].add(s)
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    status = 0
    for f in sorted(edges):
        for g in sorted(edges[f]):
            if rank[g.split("/")[0]] < rank[f.split("/")[0]]:
                print("lib/%s calls up into lib/%s: %s"
                      % (f, g, ", ".join(sorted(why[(f, g)]))))
                status = 1
    for comp in circles(edges, sorted(objs)):
        print("circle of %d files: %s" % (len(comp), " ".join(comp)))
        for f in comp:
            for g in sorted(edges[f] & set(comp)):
                print("  lib/%s -> lib/%s: %s"
                      % (f, g, ", ".join(sorted(why[(f, g)])[:4])))
        status = 1
    if status == 0:
        n = sum(len(e) for e in edges.values())
        print("lib/: %d files, %d file-to-file dependencies, none up a layer, "
              "no circle" % (len(objs), n))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
