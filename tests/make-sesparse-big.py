#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a large seSparse delta (no parent) sparsely, with a manifest of
what it holds, for tests of memory and of the grain-table cache.

usage: make-sesparse-big.py [options] DIR NAME

writes DIR/NAME.vmdk (descriptor: createType="seSparse", no parent),
DIR/NAME-sesparse.vmdk (the delta) and DIR/NAME.json (the manifest).

options:
  --sectors N      capacity in 512-byte sectors (required)
  --directory all  every grain table is present (all zero except the
                   ones holding something), as ESXi preallocates them
  --directory data directory entries are 0 except for tables holding
                   something (the default); those are numbered in a
                   shuffled order, so table index != directory index
  --every K        data in every K-th table (default 1)
  --grains G       data grains in each such table (default 1)
  --specials S     S tables get one "zero" and one "unmapped" entry
                   (default 8); some of them hold no data at all
  --seed N         random seed (default 1)

The layout is the one in tests/make-sesparse.py (qemu's reverse
engineering): constant header at sector 0, volatile header at sector 1
(magic 0xcafecafe), journal header and journal, the grain directory at
sector 8, the grain tables, a free bitmap and a backmap sector, then
the grains (4 KiB clusters).  Table entries: (3<<60) | ((cluster &
0xfff) << 48) | (cluster >> 12) for data, 2<<60 zero, 1<<60 unmapped,
0 unallocated.  Data clusters are a random sample of a range larger than
needed, so cluster numbers above 4095 (the scrambled high part) occur
and grains are not in disk order; the gaps stay holes in the file.

Nothing is held in memory at the disk's size: the file is truncated to
its size and only the non-zero parts are written.

The manifest (JSON): capacity (bytes), grain (bytes), tables,
data_tables, "data": [[byte offset, sha256 hex], ...] of every data
grain (4 KiB of seeded random bytes), "zero": [byte offsets of the
zero and unmapped grains].
"""
import argparse, hashlib, json, os, random, struct

from sesparse_layout import constant_header, volatile_header

GRAIN = 8                       # sectors
GTES = 4096                     # entries per table (64 sectors)
SS = 512

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("name")
p.add_argument("--sectors", type=int, required=True)
p.add_argument("--directory", choices=("all", "data"), default="data")
p.add_argument("--every", type=int, default=1)
p.add_argument("--grains", type=int, default=1)
p.add_argument("--specials", type=int, default=8)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()

cap = a.sectors
assert cap % GRAIN == 0, "capacity must be a whole number of grains"
n_gd = -(-cap // (GRAIN * GTES))
rnd = random.Random(a.seed)

# Entries per table: {table: {index: ("data"|"zero"|"unmapped")}}.
content = {}


def grains_in(t):
    """Grain indexes of table t that are inside the disk."""
    return min(GTES, cap // GRAIN - t * GTES)


for t in range(0, n_gd, a.every):
    idx = rnd.sample(range(grains_in(t)), min(a.grains, grains_in(t)))
    content[t] = {j: "data" for j in idx}
for t in rnd.sample(range(n_gd), min(a.specials, n_gd)):
    e = content.setdefault(t, {})
    free = [j for j in range(grains_in(t)) if j not in e]
    for kind, j in zip(("zero", "unmapped"), rnd.sample(free, 2)):
        e[j] = kind

# Where each table is in the file (its directory index).
if a.directory == "all":
    where = {t: t for t in range(n_gd)}
else:
    order = sorted(content)
    slots = list(range(len(order)))
    rnd.shuffle(slots)
    where = dict(zip(order, slots))
n_tables_in_file = len(where)

n_data = sum(k == "data" for e in content.values() for k in e.values())
clusters = rnd.sample(range(4 * n_data + 8192), n_data)

gd_off, gd_size = 8, max(1, -(-n_gd * 8 // SS))
gt_off = gd_off + gd_size
gt_size = n_tables_in_file * 64
bitmap_off = gt_off + gt_size
backmap_off = bitmap_off + 1
grains_off = backmap_off + 1
grains_size = (max(clusters) + 1) * GRAIN if clusters else 0
file_size = (grains_off + grains_size) * SS

assert backmap_off == gt_off + gt_size + 1 and grains_off == backmap_off + 1
const = constant_header(cap, GRAIN, gd_off, gd_size, gt_off, gt_size,
                        grains_off, grains_size)
volatile = volatile_header(n_tables_in_file)

manifest = {"capacity": cap * SS, "grain": GRAIN * SS, "tables": n_gd,
            "data_tables": sum(any(k == "data" for k in e.values())
                               for e in content.values()),
            "data": [], "zero": []}
delta = os.path.join(a.dir, a.name + "-sesparse.vmdk")
with open(delta, "wb") as f:
    f.truncate(file_size)
    f.write(const)
    f.write(volatile)
    # The directory, written in pieces of at most 1 MiB.
    for first in range(0, n_gd, 1 << 17):
        last = min(n_gd, first + (1 << 17))
        f.seek(gd_off * SS + first * 8)
        f.write(struct.pack("<%dQ" % (last - first),
                            *((0x10000000 << 32 | where[t]) if t in where
                              else 0 for t in range(first, last))))
    c = iter(clusters)
    for t in sorted(content):
        table = bytearray(GTES * 8)
        for j, kind in sorted(content[t].items()):
            off = (t * GTES + j) * GRAIN * SS
            if kind == "data":
                cluster = next(c)
                e = (3 << 60) | ((cluster & 0xfff) << 48) | (cluster >> 12)
                data = rnd.randbytes(GRAIN * SS)
                f.seek((grains_off + cluster * GRAIN) * SS)
                f.write(data)
                manifest["data"].append([off, hashlib.sha256(data).hexdigest()])
            else:
                e = (2 if kind == "zero" else 1) << 60
                manifest["zero"].append(off)
            struct.pack_into("<Q", table, j * 8, e)
        # Only the 4 KiB pages of the table that hold entries.
        base = (gt_off + where[t] * 64) * SS
        for page in range(0, len(table), 4096):
            if any(table[page:page + 4096]):
                f.seek(base + page)
                f.write(table[page:page + 4096])

manifest["data"].sort()
manifest["zero"].sort()
with open(os.path.join(a.dir, a.name + ".json"), "w") as f:
    json.dump(manifest, f)
with open(os.path.join(a.dir, a.name + ".vmdk"), "w") as f:
    f.write('''# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%08x
parentCID=ffffffff
createType="seSparse"

# Extent description
RW %d SESPARSE "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "14"
''' % (rnd.getrandbits(32), cap, os.path.basename(delta)))
print("%s: %d sectors, %d tables (%d in the file), %d data grains, "
      "%d zero/unmapped" % (delta, cap, n_gd, n_tables_in_file,
                            len(manifest["data"]), len(manifest["zero"])))
