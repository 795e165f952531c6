#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -c: every type by VMware's number and by name, the
# adapters and size spellings VMware documents; qemu-img must see the
# type, size and adapter asked for and find no errors.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

# VMware's -t numbers and what they create.
declare -A created=(
  [0]=monolithicSparse [1]=twoGbMaxExtentSparse [2]=monolithicFlat
  [3]=twoGbMaxExtentFlat [4]=vmfs [5]=streamOptimized [6]=vmfs
)
for t in 0 1 2 3 4 5 6; do
  vdm -c -s 10MB -a lsilogic -t $t t$t.vmdk > out.txt
  grep -q "Virtual disk creation successful" out.txt
  [ "$(ddb_value t$t.vmdk createType)" = "${created[$t]}" ]
  [ "$(ddb_value t$t.vmdk ddb.adapterType)" = lsilogic ]
  qemu-img info --output=json t$t.vmdk > info.json
  /usr/bin/python3 -c '
import json, sys
i = json.load(open("info.json"))
assert i["format"] == "vmdk", i
assert i["virtual-size"] == 10 << 20, i["virtual-size"]'
  qemu-img check t$t.vmdk
  [ "$(raw_sha256 t$t.vmdk)" = "$(head -c $((10 << 20)) /dev/zero | sha256sum | cut -d' ' -f1)" ]
done
# 6 is thin: the same vmfs descriptor marked thinProvisioned, a sparse file.
[ "$(ddb_value t6.vmdk ddb.thinProvisioned)" = 1 ]
[ "$(du -B1 t6-flat.vmdk | cut -f1)" -lt $((1 << 20)) ]
[ "$(du -B1 t4-flat.vmdk | cut -f1)" -ge $((10 << 20)) ]      # preallocated

# Our names and VMware's create types work as -t too.
for t in monolithic-sparse split-sparse monolithic-flat split-flat vmfs-flat \
         stream-optimized vmfs-thin vmfs-sparse monolithicSparse; do
  vdm -q -c -s 2MB -t $t n-$t.vmdk
  qemu-img info n-$t.vmdk | grep -q 'virtual size: 2 MiB'
done
[ "$(ddb_value n-vmfs-sparse.vmdk createType)" = vmfsSparse ]
[ "$(head -c 4 n-vmfs-sparse-delta.vmdk)" = COWD ]

# A split growable disk over 2 GiB has several extent files.
vdm -q -c -s 5GB -t 1 big.vmdk
[ "$(ls big-s0*.vmdk | wc -l)" -eq 3 ]
qemu-img info big.vmdk | grep -q 'virtual size: 5 GiB'
qemu-img check big.vmdk

# Adapters: ide, buslogic, lsilogic; others mean lsilogic, as VMware says.
for a in ide buslogic lsilogic pvscsi lsisas1068; do
  vdm -q -c -s 1MB -a $a a-$a.vmdk
done
[ "$(ddb_value a-ide.vmdk ddb.adapterType)" = ide ]
[ "$(ddb_value a-ide.vmdk ddb.geometry.heads)" = 16 ]
[ "$(ddb_value a-buslogic.vmdk ddb.adapterType)" = buslogic ]
[ "$(ddb_value a-pvscsi.vmdk ddb.adapterType)" = lsilogic ]
[ "$(ddb_value a-lsisas1068.vmdk ddb.adapterType)" = lsilogic ]

# Sizes: sectors, KB/MB/GB (VMware's), decimals rounded up to sectors.
check_size () {
  vdm -q -c -s "$1" s.vmdk
  qemu-img info --output=json s.vmdk | grep -q "\"virtual-size\": $2,"
  rm -f s.vmdk
}
check_size 2048 $((2048 * 512))
check_size 100KB $((100 << 10))
check_size 850MB $((850 << 20))
check_size 1GB $((1 << 30))
check_size 1.5MB $((3 << 19))
check_size 1000 512000
check_size 1.1KB 1536

# The hardware version.
vdm -q -c -s 1MB --hw-version 13 hw.vmdk
[ "$(ddb_value hw.vmdk ddb.virtualHWVersion)" = 13 ]

# Errors: nothing is overwritten; bad arguments are usage errors.
vdm_fails 1 "t0.vmdk.*already exists" -c -s 1MB t0.vmdk
vdm_fails 2 "needs the capacity" -c t9.vmdk
vdm_fails 2 "bad size 'lots'" -c -s lots t9.vmdk
vdm_fails 2 "bad size '0'" -c -s 0 t9.vmdk
vdm_fails 2 "unknown disk type '7'" -c -s 1MB -t 7 t9.vmdk
vdm_fails 2 "unknown adapter type 'floppy'" -c -s 1MB -a floppy t9.vmdk
vdm_fails 1 "too large" -c -s 3TB -t 0 t9.vmdk
[ ! -e t9.vmdk ]
