#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Fill a range of a monolithicSparse VMDK (as qemu-img creates it, every
grain table preallocated) with data cheaply: every grain in the range
points at one shared grain of pattern bytes appended to the file.  The
format does not forbid shared grains, and readers must return the same
bytes for each, so a disk with gigabytes of allocated data costs one
grain of space.

usage: make-aliased-grains.py IMAGE START END     (bytes, grain-aligned)
"""
import struct, sys

path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    hdr = f.read(512)
    assert hdr[:4] == b"KDMV", "not a hosted sparse extent"
    capacity, grain = struct.unpack_from("<QQ", hdr, 12)
    gtes = struct.unpack_from("<I", hdr, 44)[0]
    rgd, gd = struct.unpack_from("<QQ", hdr, 48)
    gbytes = grain * 512
    assert start % gbytes == 0 and end % gbytes == 0 and end <= capacity * 512
    f.seek(0, 2)
    at = (f.tell() + gbytes - 1) // gbytes * gbytes
    f.seek(at)
    f.write(bytes((i * 7 + 1) % 256 for i in range(gbytes)))
    n_gts = -(-capacity // (grain * gtes))
    first, last = start // gbytes, end // gbytes
    for directory in (gd, rgd):
        if directory == 0:
            continue
        f.seek(directory * 512)
        tables = struct.unpack("<%dI" % n_gts, f.read(4 * n_gts))
        # whole tables at a time: a 2 TiB disk has 32 Mi entries
        for t in range(first // gtes, (last + gtes - 1) // gtes):
            assert tables[t] != 0, "grain table not preallocated"
            lo, hi = max(first, t * gtes), min(last, (t + 1) * gtes)
            f.seek(tables[t] * 512 + (lo - t * gtes) * 4)
            f.write(struct.pack("<I", at // 512) * (hi - lo))
