#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a large twoGbMaxExtentSparse disk cheaply, for memory tests.

Each extent is laid out as VMware Workstation makes them (2047 MiB of
capacity, 64 KiB grains, 512 entries per table, redundant tables first,
metadata rounded up to 640 sectors), and every grain table has its
first grain allocated, so that a reader must load every table.  The
grains are holes in the (sparse) extent files, except in every Nth
table, whose grain starts with 4 KiB of random bytes; so 512 extents
(1 TiB) take about 80 MB on disk.

Also writes NAME.json, the manifest that tests/table-cache-functions.sh
checks maps and reads against: capacity, grain size, every allocated
grain's offset with the sha256 of its 64 KiB, and some offsets of
grains that are not allocated.

usage: make-split-sparse-big.py [--extents N] [--every N] [--seed S] DIR NAME
"""
import argparse, hashlib, json, os, random, struct

SS = 512
EXTENT_SECTORS = 4192256        # 2047 MiB, as VMware splits
GRAIN = 128                     # sectors
GTES = 512
N_GTS = -(-EXTENT_SECTORS // (GTES * GRAIN))
GT_SECTORS = GTES * 4 // SS
GD_SECTORS = -(-N_GTS * 4 // SS)
RGD = 1
GD = RGD + GD_SECTORS + N_GTS * GT_SECTORS
OVERHEAD = -(-(GD + GD_SECTORS + N_GTS * GT_SECTORS) // GRAIN) * GRAIN
MARK = 4096


def header():
    h = struct.pack("<4sIIQQQQIQQQB4sH", b"KDMV", 1, 3, EXTENT_SECTORS,
                    GRAIN, 0, 0, GTES, RGD, GD, OVERHEAD, 0, b"\n \r\n", 0)
    return h.ljust(SS, b"\0")


def directory(first_table):
    return b"".join(struct.pack("<I", first_table + i * GT_SECTORS)
                    for i in range(N_GTS)).ljust(GD_SECTORS * SS, b"\0")


def write_extent(path, index, every, rnd, manifest):
    tables = bytearray()
    marks = []
    for t in range(N_GTS):
        grain = OVERHEAD + t * GRAIN
        entries = [grain] + [0] * (GTES - 1)
        tables += struct.pack("<%dI" % GTES, *entries)
        offset = (index * EXTENT_SECTORS + t * GTES * GRAIN) * SS
        data = bytes(GRAIN * SS)
        if (index * N_GTS + t) % every == 0:
            mark = rnd.randbytes(MARK)
            marks.append((grain * SS, mark))
            data = mark + data[MARK:]
        manifest["data"].append([offset, hashlib.sha256(data).hexdigest()])
        manifest["zero"].append(offset + GRAIN * SS)
    with open(path, "wb") as f:
        f.write(header())
        f.seek(RGD * SS)
        f.write(directory(RGD + GD_SECTORS))
        f.write(tables)
        f.seek(GD * SS)
        f.write(directory(GD + GD_SECTORS))
        f.write(tables)
        for at, mark in marks:
            f.seek(at)
            f.write(mark)
        f.truncate((OVERHEAD + N_GTS * GRAIN) * SS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extents", type=int, default=512)
    ap.add_argument("--every", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("dir")
    ap.add_argument("name")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    capacity = a.extents * EXTENT_SECTORS
    manifest = {"capacity": capacity * SS, "grain": GRAIN * SS,
                "data": [], "zero": [], "tables": a.extents * N_GTS,
                "data_tables": a.extents * N_GTS}
    lines = ["# Disk DescriptorFile", "version=1", "CID=fffffffe",
             "parentCID=ffffffff", 'createType="twoGbMaxExtentSparse"', "",
             "# Extent description"]
    for i in range(a.extents):
        name = "%s-s%03d.vmdk" % (a.name, i + 1)
        write_extent(os.path.join(a.dir, name), i, a.every, rnd, manifest)
        lines.append('RW %d SPARSE "%s"' % (EXTENT_SECTORS, name))
    cylinders = min(capacity // (16 * 63), 65535)
    lines += ["", "# The Disk Data Base", "#DDB", "",
              'ddb.virtualHWVersion = "4"',
              'ddb.geometry.cylinders = "%d"' % cylinders,
              'ddb.geometry.heads = "16"', 'ddb.geometry.sectors = "63"',
              'ddb.adapterType = "ide"', ""]
    with open(os.path.join(a.dir, a.name + ".vmdk"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(a.dir, a.name + ".json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
