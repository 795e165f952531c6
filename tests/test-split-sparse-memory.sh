#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Memory does not grow with the number of extents: the grain-table
# budget is shared by every extent (and every link) of a disk, in
# proportion to the bytes of their tables.  Before, each extent had a
# budget of its own, 4 MiB, larger than the 128 KiB of tables of a
# 2047 MiB extent, so a split disk kept all of its tables: a 1 TiB
# twoGbMaxExtentSparse disk (512 extents) with data in every table
# peaked at 79 MB after reading one grain of each table.
#
# The disk is made by tests/make-split-sparse-big.py (the layout of
# VMware Workstation's split extents; grains are holes except for 4 KiB
# of random bytes in every 16th table) with a manifest of its grains.
# qemu-nbd, an independent reader of the format, must agree with the
# manifest; then nbdkit's map and reads from four connections must too,
# while its peak RSS stays under 40 MiB, and each extent's cache never
# holds more tables at once than its share of the budget (the
# library's debug statistic).  A bound on memory, not on time, so it
# cannot flake.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/table-cache-functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-nbd --version
requires /usr/bin/python3 -c 'import nbd'

/usr/bin/python3 "$srcdir/tests/make-split-sparse-big.py" --extents 512 \
  --every 16 --seed 3 "$PWD" split
# The bound can fail: 32768 tables of 2 KiB are 64 MiB if all kept.
[ "$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["data_tables"])' split.json)" -eq 32768 ]

# qemu agrees with the manifest.
start_qemu_nbd -P qemu.pid -t -r -e 4 -f vmdk -k "$PWD/qemu.sock" "$PWD/split.vmdk"
check_reads "nbd+unix:///?socket=$PWD/qemu.sock" split.json 4
kill_nbdkit qemu.pid

rm -f split.sock
set +x                          # (the trace would go into the log)
start_nbdkit -P split.pid -U "$PWD/split.sock" -v -r "$VDDK_PLUGIN" \
  "$PWD/split.vmdk" 2> split.log
set -x
uri="nbd+unix:///?socket=$PWD/split.sock"
nbdinfo --map --json "$uri" > map.json
check_map split.json map.json
check_reads "$uri" split.json 4
hwm=$(peak_rss split.pid)
echo "1 TiB in 512 extents: peak RSS after the map and reads: $hwm KiB"
[ "$hwm" -lt $((40 * 1024)) ]
kill_nbdkit split.pid
check_table_peaks split.log
