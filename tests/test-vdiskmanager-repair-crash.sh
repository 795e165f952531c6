#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -R killed (SIGKILL) before each of its writes and syncs
# leaves a disk that a second -R repairs to the original data: no good
# copy of a table or directory entry is overwritten before the repaired
# one is written and synced.  tests/fault-inject.so (FAULT_ERRNO=KILL)
# kills the tool at the Nth write or sync of the disk's files.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
source "$srcdir/tests/repair-functions.sh"
set -e
set -x

shim="$builddir/tests/fault-inject.so"
requires test -f "$shim"

# crash_each ORIG DAMAGED-DIR DISK: kill -R of DISK (in a copy of
# DAMAGED-DIR) at each of its writes and syncs in turn; after each, a
# second -R must bring back ORIG's data.
crash_each ()
{
  local orig=$1 dir=$2 disk=$3 n k rc
  rm -rf k
  cp -r "$dir" k
  rm -f calls.log
  LD_PRELOAD="$shim" FAULT_PATTERN="$PWD/k/*" FAULT_LOG="$PWD/calls.log" \
    "$VDM" -q -R "k/$disk"
  n=$(wc -l < calls.log)
  [ "$n" -ge 3 ]
  for (( k = 1; k <= n; k++ )); do
    rm -rf k
    cp -r "$dir" k
    rc=0
    LD_PRELOAD="$shim" FAULT_PATTERN="$PWD/k/*" FAULT_AT=$k \
      FAULT_ERRNO=KILL "$VDM" -q -R "k/$disk" || rc=$?
    [ "$rc" -eq 137 ]
    vdm -q -R "k/$disk"
    qemu-img compare "$orig" "k/$disk"
    vdm -q -e "k/$disk"
  done
}

make_disk d.vmdk 0 100MB

# A primary directory entry, a redundant table entry and a zeroed
# primary one, and the unclean-shutdown flag.
copy_disk d.vmdk dmg
poke dmg/d.vmdk gd:0 $BAD
poke dmg/d.vmdk rgt:1:131 $BAD
poke dmg/d.vmdk gt:1:130 0
printf '\x01' | dd of=dmg/d.vmdk bs=1 seek=72 conv=notrunc status=none
crash_each d.vmdk dmg d.vmdk

# A whole redundant directory (its tables cannot be found: the primary
# ones must be intact for nothing to be lost).
copy_disk d.vmdk dmg
poke dmg/d.vmdk hdr:rgd $BAD
crash_each d.vmdk dmg d.vmdk

# A whole primary directory.
copy_disk d.vmdk dmg
poke dmg/d.vmdk hdr:gd $BAD
crash_each d.vmdk dmg d.vmdk

# Split sparse: damage in both extents.
make_disk s.vmdk 1 3GB
copy_disk s.vmdk dmg
poke dmg/s-s002.vmdk gd:0 $BAD
poke dmg/s-s001.vmdk gt:0:3 $BAD
poke dmg/s-s001.vmdk rgd:1 $BAD
crash_each s.vmdk dmg s.vmdk
