#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Read or overwrite one metadata word of a hosted sparse (KDMV) extent,
for the repair tests.

  vmdk-poke.py FILE WHERE [VALUE]

WHERE is gd:T or rgd:T (grain directory entry T, primary or redundant),
gt:T:I or rgt:T:I (entry I of grain table T, reached through that
directory), or hdr:gd / hdr:rgd (the header's 64-bit directory offsets).
Without VALUE the word is printed; with it (decimal or 0x...) it is
written.  "off" instead of VALUE prints the word's byte offset."""
import struct
import sys

path, where = sys.argv[1], sys.argv[2].split(":")
value = sys.argv[3] if len(sys.argv) > 3 else None
with open(path, "r+b") as f:
    head = f.read(512)
    assert head[:4] == b"KDMV", "not a hosted sparse extent"
    rgd, gd = struct.unpack_from("<QQ", head, 48)

    def word(off):
        f.seek(off)
        return struct.unpack("<I", f.read(4))[0]

    if where[0] == "hdr":
        off, fmt = {"rgd": 48, "gd": 56}[where[1]], "<Q"
    else:
        base = rgd if where[0] in ("rgd", "rgt") else gd
        off, fmt = base * 512 + 4 * int(where[1]), "<I"
        if where[0] in ("gt", "rgt"):
            off = word(off) * 512 + 4 * int(where[2])
    if value is None:
        f.seek(off)
        print(struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0])
    elif value == "off":
        print(off)
    else:
        f.seek(off)
        f.write(struct.pack(fmt, int(value, 0)))
