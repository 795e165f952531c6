#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Read a stream-optimized VMDK the way a streaming importer does: from
the header's overHead to the first end-of-stream marker, front to back,
never seeking.  Writes the disk rebuilt from the grains met (zeros
elsewhere) to OUT.raw and prints what was found, one word per marker:
G (grain), T (grain table), D (directory), F (footer), E (end).

usage: stream-walk.py IMAGE OUT.raw [--canonical]

--canonical fails unless the stream is what VMware's format note
describes: header saying "directory at the end", grains in LBA order,
then tables, one directory, one footer, one end-of-stream marker, and
nothing after it.
"""
import re, struct, sys, zlib

path, out = sys.argv[1], sys.argv[2]
canonical = "--canonical" in sys.argv[3:]
data = open(path, "rb").read()
assert data[:4] == b"KDMV", "not a hosted sparse extent"
capacity, grain = struct.unpack_from("<QQ", data, 12)
gd_offset, overhead = struct.unpack_from("<QQ", data, 56)
disk = bytearray(capacity * 512)
pos = overhead * 512
words, lbas, after_eos = [], [], 0
while True:
    if pos + 512 > len(data):
        sys.exit("%s: no end-of-stream marker before the end of the file "
                 "(%s)" % (path, "".join(words)))
    val, size = struct.unpack_from("<QI", data, pos)
    if size:
        raw = zlib.decompress(data[pos + 12:pos + 12 + size])
        assert len(raw) % 512 == 0 and val + len(raw) // 512 <= capacity, \
            "grain at byte %d: LBA %d, %d bytes" % (pos, val, len(raw))
        disk[val * 512:val * 512 + len(raw)] = raw
        words.append("G")
        lbas.append(val)
        pos += (12 + size + 511) // 512 * 512
        continue
    mtype = struct.unpack_from("<I", data, pos + 12)[0]
    if mtype == 0:
        words.append("E")
        after_eos = len(data) - pos - 512
        break
    assert mtype in (1, 2, 3), "unknown marker type %d at byte %d" % (mtype, pos)
    words.append("TDF"[mtype - 1])
    pos += 512 + val * 512
open(out, "wb").write(disk)
summary = re.sub(r"(.)\1+", lambda m: "%s*%d" % (m.group(1), len(m.group(0))),
                 "".join(words))
print("markers:", summary, "bytes after end-of-stream:", after_eos,
      "header gdOffset:", "at end" if gd_offset == 2**64 - 1 else gd_offset)
if canonical:
    shape = re.fullmatch(r"G*T*DFE", "".join(words))
    problems = []
    if not shape:
        problems.append("markers are not grains, tables, directory, footer, end")
    if lbas != sorted(set(lbas)):
        problems.append("grains are not in LBA order, once each")
    if after_eos:
        problems.append("%d bytes follow the end-of-stream marker" % after_eos)
    if gd_offset != 2**64 - 1:
        problems.append("the header does not say the directory is at the end")
    if problems:
        sys.exit("%s is not a canonical stream: %s" % (path, "; ".join(problems)))
