#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a seSparse delta over a raw parent, laid out as qemu's reverse
engineering of ESXi's format describes it.

usage: make-sesparse.py PARENT.raw DELTA EXPECTED.raw EXPECTED-SINGLE.raw [RUNS]

The delta has 4 KiB grains: 40 with data, 10 explicitly zero and 10
"unmapped" (both read as zeros, hiding the parent), the rest
unallocated (read from the parent).  EXPECTED is the chain's content,
EXPECTED-SINGLE the delta's alone.  With RUNS, also that many runs of
64 grains (256 KiB) written in order: consecutive in the disk and in
the file, as a guest's large writes leave them.
"""
import os, random, struct, sys

from sesparse_layout import constant_header, volatile_header

parent = open(sys.argv[1], "rb").read()
cap = len(parent) // 512
grain, gtes = 8, 4096
n_gd = -(-cap // (grain * gtes))
rnd = random.Random(5)
expected = bytearray(parent)
single = bytearray(len(parent))

gd_off, gd_size = 8, max(1, -(-n_gd * 8 // 512))
gt_off = gd_off + gd_size
gt_size = n_gd * 64
grains_off = gt_off + gt_size + 2          # bitmap and backmap between
gts = [[0] * gtes for _ in range(n_gd)]
grains = bytearray()

def add_data(g):
    """Grain g gets random data, in the next cluster of the file."""
    global grains
    i, j = divmod(g, gtes)
    lo, hi = g * grain * 512, (g + 1) * grain * 512
    cluster = len(grains) // (grain * 512)
    data = os.urandom(grain * 512)
    grains += data
    gts[i][j] = (3 << 60) | ((cluster & 0xfff) << 48) | (cluster >> 12)
    expected[lo:hi] = data
    single[lo:hi] = data

picks = rnd.sample(range(cap // grain), 60)
for k, g in enumerate(picks):
    i, j = divmod(g, gtes)
    lo, hi = g * grain * 512, (g + 1) * grain * 512
    if k < 40:                              # data
        add_data(g)
    else:                                   # zero (2) or unmapped (1)
        gts[i][j] = (2 if k < 50 else 1) << 60
        expected[lo:hi] = bytes(hi - lo)

runs = int(sys.argv[5]) if len(sys.argv) > 5 else 0
taken = set(picks)
for r in range(runs):
    while True:
        start = rnd.randrange(cap // grain - 64)
        if not taken.intersection(range(start, start + 64)):
            break
    taken.update(range(start, start + 64))
    for g in range(start, start + 64):
        add_data(g)

def u64s(values, sectors):
    return struct.pack("<%dQ" % len(values), *values).ljust(sectors * 512, b"\0")

const = constant_header(cap, grain, gd_off, gd_size, gt_off, gt_size,
                        grains_off, -(-len(grains) // 512))
volatile = volatile_header(n_gd)
gd = [0x10000000 << 32 | i for i in range(n_gd)]
out = (bytes(const) + volatile + bytes(6 * 512) + u64s(gd, gd_size) +
       b"".join(u64s(t, 64) for t in gts) + bytes(2 * 512) + bytes(grains))
open(sys.argv[2], "wb").write(out)
open(sys.argv[3], "wb").write(expected)
open(sys.argv[4], "wb").write(single)
