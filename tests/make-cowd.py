#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a vmfsSparse ("COWD") delta over a raw parent, as ESXi lays it out.

usage: make-cowd.py PARENT.raw GRAIN DELTA EXPECTED.raw EXPECTED-SINGLE.raw [N]

The delta (header of 2048 bytes, grain directory at sector 4, grain
tables of 4096 entries allocated only where data is written, each
followed by its grains) holds N (default 40) random grains of GRAIN
sectors; with N = 0 it has no grain table at all.
EXPECTED is the parent with the delta applied; EXPECTED-SINGLE is the
delta alone (zeros where it has no grain).
"""
import random, struct, sys

parent = open(sys.argv[1], "rb").read()
grain = int(sys.argv[2])
cap = len(parent) // 512
gtes = 4096
n_gd = -(-cap // (gtes * grain))
gd_sector = 4
base = next_free = gd_sector + -(-n_gd * 4 // 512)
gd = [0] * n_gd
gts = {}
body = bytearray()
rnd = random.Random(grain)
expected = bytearray(parent)
single = bytearray(len(parent))

def alloc(n):
    global next_free
    at = next_free
    next_free += n
    body.extend(bytes(n * 512))
    return at

n_grains = int(sys.argv[6]) if len(sys.argv) > 6 else 40
for g in sorted(rnd.sample(range(cap // grain), n_grains)):
    i = g // gtes
    if i not in gts:
        gts[i] = (alloc(gtes * 4 // 512), [0] * gtes)
        gd[i] = gts[i][0]
    at = alloc(grain)
    gts[i][1][g % gtes] = at
    data = bytes([rnd.randrange(1, 256)]) * (grain * 512)
    body[(at - base) * 512:(at - base + grain) * 512] = data
    expected[g * grain * 512:(g + 1) * grain * 512] = data
    single[g * grain * 512:(g + 1) * grain * 512] = data
for at, entries in gts.values():
    body[(at - base) * 512:(at - base) * 512 + gtes * 4] = \
        struct.pack("<%dI" % gtes, *entries)

hdr = bytearray(2048)
struct.pack_into("<4sIIIIIII", hdr, 0, b"COWD", 1, 3, cap, grain, gd_sector,
                 n_gd, next_free)
gdbytes = struct.pack("<%dI" % n_gd, *gd).ljust((base - gd_sector) * 512, b"\0")
open(sys.argv[3], "wb").write(bytes(hdr) + gdbytes + bytes(body))
open(sys.argv[4], "wb").write(expected)
open(sys.argv[5], "wb").write(single)
