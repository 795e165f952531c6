#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Writable sparse extents keep a bounded grain-table cache too.  Tables
# changed by writes stay in memory until, with only changed tables left
# to drop, the library syncs the grains and writes every changed table
# back in place; then they can be dropped, and are read again from the
# file when needed.  With a budget of 4 tables (config
# vixDiskLib.grainTableCacheKB = 8, tables of 2 KiB) on a 16 GiB
# monolithicSparse disk (512 tables), writes all over the disk from four
# connections at once make that happen all the time, while reads of
# earlier writes run in between.  Everything written must read back as
# written, both through nbdkit while the disk is open (tables written
# back, dropped and reloaded by the process that wrote them) and, after
# nbdkit exits, through qemu-img (an independent reader), which must
# also find the image clean and zeros everywhere else.  A second server
# reopens the disk and does it again: grains it appends lie past the
# file's size at open, and its reloaded tables must still point at them.
#
# The reference is a sparse raw file of the disk's size (16 GiB apparent,
# only what was written is stored) plus a list of the written ranges;
# writes by different connections in one round never share a sector,
# and reads only look at ranges no one writes in that round, so the
# expected bytes are known although requests race.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

size=$((16 << 30))
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$PWD/disk.vmdk" $size
truncate -s $size ref.raw
echo 'vixDiskLib.grainTableCacheKB = 8' > cache.conf

# serve N SEED ROUNDS WRITES: a writable nbdkit (-v, log in
# nbdkit-N.log) with the small budget, the driver, then stop nbdkit.
serve ()
{
  rm -f sock
  set +x                        # (the trace would go into the log)
  start_nbdkit -P nbdkit.pid -U "$PWD/sock" -v "$VDDK_PLUGIN" \
    "$PWD/disk.vmdk" config="$PWD/cache.conf" 2> nbdkit-$1.log
  set -x
  # (A writer that keeps reloading the table it needs would hang.)
  timeout -k 5 300 /usr/bin/python3 "$srcdir/tests/table-cache-driver.py" \
    "nbd+unix:///?socket=$PWD/sock" ref.raw state.json "$2" "$3" "$4"
  kill_nbdkit nbdkit.pid
  # The write-back path ran, and nbdkit reported no error (not even at
  # its exit, when the disk is flushed and closed).
  local n
  n=$(grep -cF "VixDiskLib: grain table cache full (4 tables): changed tables written back to make room" \
        nbdkit-$1.log) || true
  echo "server $1: changed tables written back $n times"
  [ "$n" -gt 0 ]
  grep -F "VixDiskLib: vixDiskLib.grainTableCacheKB = 8 KiB" nbdkit-$1.log
  grep -F "debug: vddk: unload plugin" nbdkit-$1.log
  if grep -v ': debug: ' nbdkit-$1.log | grep .; then
    echo "FAIL: nbdkit printed the lines above (not debug messages)" >&2
    return 1
  fi
  if grep -Ei 'error|could not|assert|abort' nbdkit-$1.log |
       grep -Ev 'VDDK call: VixDiskLib_InitEx \(.*&error_fn|TLS disabled'; then
    echo "FAIL: errors in nbdkit's log" >&2
    return 1
  fi
}

# check: qemu-img finds the image clean and equal to the reference over
# the whole 16 GiB, and allocates grains only where writes went; every
# grain table equals its redundant copy (qemu-img reads only the
# primary ones; tables written back early must have updated both).
check ()
{
  /usr/bin/python3 - disk.vmdk <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
h = f.read(512)
flags, = struct.unpack_from("<I", h, 8)
cap, grain = struct.unpack_from("<QQ", h, 12)
ngte, = struct.unpack_from("<I", h, 44)
rgd, gd = struct.unpack_from("<QQ", h, 48)
assert flags & 2 and rgd, "no redundant grain directory"
ngt = -(-cap // (grain * ngte))
def table(sector, n):
    f.seek(sector * 512)
    return struct.unpack("<%dI" % n, f.read(4 * n))
gdir, rdir = table(gd, ngt), table(rgd, ngt)
assert all(gdir) and all(rdir), "a directory entry is 0"
used = 0
for i in range(ngt):
    a = table(gdir[i], ngte)
    assert a == table(rdir[i], ngte), \
        "grain table %d differs from its redundant copy" % i
    used += any(a)
print("%d grain tables in use, all equal to their redundant copies" % used)
PY
  qemu-img check disk.vmdk
  qemu-img compare -f vmdk -F raw disk.vmdk ref.raw
  qemu-img map --output=json disk.vmdk > qmap.json
  /usr/bin/python3 - qmap.json state.json <<'PY'
import json, sys
G = 65536
touched = set()
for o, ln in json.load(open(sys.argv[2]))["ranges"]:
    touched.update(range(o // G, (o + ln - 1) // G + 1))
alloc = set()
for e in json.load(open(sys.argv[1])):
    if e["data"]:
        alloc.update(range(e["start"] // G, (e["start"] + e["length"]) // G))
stray = sorted(alloc - touched)
assert not stray, "grains allocated where nothing was written: %r" % stray[:10]
print("%d grains allocated, all where writes went" % len(alloc))
PY
}

# ---- First server: a new disk.
serve 1 1 6 50
ls -ls disk.vmdk ref.raw
check

# ---- Second server: the same file reopened; overwrites and new grains
# (appended past the size at open), everything read back while open.
size1=$(stat -c %s disk.vmdk)
serve 2 2 4 40
size2=$(stat -c %s disk.vmdk)
echo "disk.vmdk grew from $size1 to $size2 bytes"
[ "$size2" -gt "$size1" ]
check
