#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Memory of seSparse deltas does not grow with the disk, and the bounded
# grain-table cache returns the right data while it drops and reloads
# tables.  seSparse tables are 32 KiB (4096 entries for 16 MiB); a 2 TiB
# delta has 131072 of them.  Tables that are absent (directory entry 0)
# or all zeros share one static table, and at most 4 MiB of others stay
# loaded per extent; before, mapping a 2 TiB delta whose tables ESXi
# preallocated took 4.2 GiB.
#
# The deltas are made by tests/make-sesparse-big.py with a manifest of
# their data grains (offset and sha256), which is what the plugin's map
# and reads are checked against; qemu-img, an independent seSparse
# reader, must agree with the manifest too.
#  1. 2 TiB, every table present, data in every 64th: 2048 tables with
#     data, 64 MiB if they were all kept.  nbdinfo --map and reads of
#     every grain from four connections keep nbdkit's peak RSS under
#     64 MiB, and the map and the data are the manifest's.
#  2. The same with directory entries 0 except for the data tables.
#  3. 8 GiB, data in every table (512 tables, 16 MiB), with a budget of
#     4 tables (config vixDiskLib.grainTableCacheKB = 128), so tables
#     are dropped all the time, under parallel requests: map, reads,
#     and nbdcopy with four connections equal qemu-img's decoding.
# Bounds on memory, not on time, so they cannot flake.  In 3 the bound
# is the design's: the budget (4 tables, 128 KiB) plus the process's
# fixed overhead, stated as 10 MiB: nbdkit with the plugin and library
# loaded is 3.3 MiB; four connections add their threads (nbdkit's 16
# each) and glibc's malloc arenas (at most 8 per core); measured peaks
# were 7.0-7.9 MiB, also on a loaded 2-core machine.  The library also
# reports the most tables it held at once (debug), which must be at
# most 4.  (This bound was 15 MiB, and once failed at 15.1: tables
# dropped while any request was in flight were only freed once none
# was, so on a busy machine up to 380 tables of a budget of 2 stayed
# in memory; see test-table-cache-budget.sh.)
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/table-cache-functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

# ---- 1 and 2: 2 TiB, peak RSS under 64 MiB.
for dir in all data; do
  /usr/bin/python3 "$srcdir/tests/make-sesparse-big.py" --sectors $((4 << 30)) \
    --directory $dir --every 64 --seed 7 "$PWD" big-$dir
  # The bound can fail: 2048 tables with data are 64 MiB if all kept.
  [ "$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["data_tables"])' big-$dir.json)" -eq 2048 ]
  rm -f $dir.sock
  start_nbdkit -P $dir.pid -U "$PWD/$dir.sock" -r "$VDDK_PLUGIN" \
    "$PWD/big-$dir.vmdk"
  uri="nbd+unix:///?socket=$PWD/$dir.sock"
  nbdinfo --map --json "$uri" > map-$dir.json
  hwm=$(peak_rss $dir.pid)
  echo "directory $dir: peak RSS after the map: $hwm KiB"
  [ "$hwm" -lt $((64 * 1024)) ]
  check_map big-$dir.json map-$dir.json
  check_reads "$uri" big-$dir.json 4
  hwm=$(peak_rss $dir.pid)
  echo "directory $dir: peak RSS after the reads: $hwm KiB"
  [ "$hwm" -lt $((64 * 1024)) ]
  kill_nbdkit $dir.pid
  rm -f big-$dir-sesparse.vmdk
done

# ---- 3: 8 GiB, every table has data, a budget of 4 tables.
/usr/bin/python3 "$srcdir/tests/make-sesparse-big.py" --sectors $((16 << 20)) \
  --directory data --every 1 --grains 8 --seed 9 "$PWD" small
echo 'vixDiskLib.grainTableCacheKB = 128' > cache.conf

# qemu-img agrees with the manifest: every data grain, and nothing else
# that is not zero (qemu-img writes zero blocks as holes).
qemu-img convert -O raw small.vmdk qemu.raw
/usr/bin/python3 - small.json qemu.raw <<'PY'
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
g, sums = m["grain"], dict(m["data"])
fd = os.open(sys.argv[2], os.O_RDONLY)
assert os.fstat(fd).st_size == m["capacity"]
for off, h in sums.items():
    assert hashlib.sha256(os.pread(fd, g, off)).hexdigest() == h, \
        "qemu-img disagrees with the manifest at %d" % off
pos = 0
while True:
    try:
        pos = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, pos, os.SEEK_HOLE)
    for b in range(pos // g * g, end, g):
        assert b in sums or not any(os.pread(fd, g, b)), \
            "qemu-img has data at %d, not in the manifest" % b
    pos = end
print("qemu-img: %d data grains as in the manifest" % len(sums))
PY

rm -f small.sock
set +x                          # (the trace would go into the log)
start_nbdkit -P small.pid -U "$PWD/small.sock" -v -r "$VDDK_PLUGIN" \
  "$PWD/small.vmdk" config="$PWD/cache.conf" 2> small.log
set -x
uri="nbd+unix:///?socket=$PWD/small.sock"
nbdinfo --map --json "$uri" > map-small.json
check_map small.json map-small.json
check_reads "$uri" small.json 4
# The budget is in effect: the 512 tables alone would be 16 MiB (with
# them all kept the peak was 21 MiB here, with 4 tables 7-8 MiB).
hwm=$(peak_rss small.pid)
overhead=$((10 * 1024)) budget=128
echo "8 GiB, budget of 4 tables: peak RSS $hwm KiB (bound $overhead + $budget)"
[ "$hwm" -lt $((overhead + budget)) ]
# Whole-disk copies (with the map, and reading every byte), four
# connections, many requests in flight.  (qemu-img compare, not cmp:
# both files are sparse, and cmp reads 16 GiB of holes.)
nbdcopy -C 4 "$uri" nbd.raw
qemu-img compare -f raw -F raw nbd.raw qemu.raw
rm -f nbd.raw
nbdcopy -C 4 --no-extents "$uri" nbd.raw
qemu-img compare -f raw -F raw nbd.raw qemu.raw
kill_nbdkit small.pid
# Never more tables at once than the budget of 4.
grep -F "(budget 4 of 512)" small.log
check_table_peaks small.log
