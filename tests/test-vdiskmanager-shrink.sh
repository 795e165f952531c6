#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -k and -d: the content (qemu-img compare), the
# descriptor's DDB and the CID stay; shrink gives back grains of zeros,
# defragment keeps the allocation and lays grains out in order; thin
# flat files get their zero blocks punched out; preallocated disks are
# refused; a leftover from an interrupted run is ignored; and killing a
# shrink at any moment leaves the disk whole (old or new file).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

M=$((1 << 20))

# fill DISK: data, then explicit zeros over part of it (qemu writes them
# as allocated grains of zeros) and zeros over never-written space.
fill () {
  qemu-io -f vmdk -c 'write -P 0x61 0 8M' -c 'write -P 0x62 12M 4M' \
    -c 'write -P 0 2M 4M' -c 'write -P 0 20M 2M' "$1"
}

# same_after OP DISK: run vdiskmanager OP on DISK; the content, DDB and
# CID must not change, and qemu-img check must pass.
same_after () {
  local op=$1 disk=$2 ddb cid
  qemu-img convert -O raw "$disk" before.raw
  ddb=$(ddb_lines "$disk")
  cid=$(ddb_value "$disk" CID)
  vdm -q $op "$disk"
  qemu-img compare -F raw "$disk" before.raw
  [ "$(ddb_lines "$disk")" = "$ddb" ]
  [ "$(ddb_value "$disk" CID)" = "$cid" ]
  qemu-img check "$disk"
  rm -f before.raw
  refute ls ./*.vdl-tmp 2>/dev/null
}

# Growable disks: monolithic, split.
for t in 0 1; do
  vdm -q -c -s 32MB -t $t s$t.vmdk
  fill s$t.vmdk
  before=$(data_bytes s$t.vmdk)
  [ "$before" -eq $((14 * M)) ]
  same_after -k s$t.vmdk
  # The grains of zeros are gone: 8 MiB + 4 MiB written, 4 MiB zeroed.
  [ "$(data_bytes s$t.vmdk)" -eq $((8 * M)) ]
  [ "$(on_disk s$t*.vmdk)" -lt $((9 * M)) ]
done

# Defragment keeps every allocated grain, now in LBA order.
vdm -q -c -s 32MB -t 0 d.vmdk
qemu-io -f vmdk -c 'write -P 0x71 16M 1M' -c 'write -P 0x72 0 1M' \
  -c 'write -P 0 8M 1M' d.vmdk
map=$(qemu-img map --output=json d.vmdk | grep -o '"data": [a-z]*' | tr -d '\n')
same_after -d d.vmdk
[ "$(qemu-img map --output=json d.vmdk | grep -o '"data": [a-z]*' | tr -d '\n')" = "$map" ]
qemu-img map --output=json d.vmdk | /usr/bin/python3 -c '
import json, sys
offs = [(e["start"], e["offset"]) for e in json.load(sys.stdin) if e["data"]]
assert [o for s, o in sorted(offs)] == sorted(o for s, o in offs), offs'

# VMware-made samples: split, monolithic with a redundant directory.
copy_sample twoGbMaxExtentSparse v
same_after -k v/twoGbMaxExtentSparse.vmdk
[ "$(raw_sha256 v/twoGbMaxExtentSparse.vmdk)" = $SAMPLE_SHA ]
copy_sample monolithicSparse v
same_after -d v/monolithicSparse.vmdk
same_after -k v/monolithicSparse.vmdk

# A stream is rewritten as a stream.
vdm -q -r s0.vmdk -t 5 st.vmdk
same_after -k st.vmdk
same_after -d st.vmdk
[ "$(ddb_value st.vmdk createType)" = streamOptimized ]

# A child (redo log): its zeros hide the parent and must stay.
qemu-img create -q -f vmdk base.vmdk 8M
qemu-io -f vmdk -c 'write -P 0x41 0 8M' base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
qemu-io -f vmdk -c 'write -P 0 1M 1M' -c 'write -P 0x42 4M 64k' child.vmdk
same_after -k child.vmdk
qemu-io -f vmdk -c 'read -P 0 1M 1M' -c 'read -P 0x41 2M 1M' child.vmdk \
  > read.out
refute grep -qi fail read.out

# Thin flat: zero blocks are punched out in place.
vdm -q -c -s 16MB -t 6 th.vmdk
qemu-io -f vmdk -c 'write -P 0x51 0 4M' -c 'write -P 0 4M 8M' th.vmdk
[ "$(du -B1 th-flat.vmdk | cut -f1)" -ge $((12 * M)) ]
same_after -k th.vmdk
[ "$(du -B1 th-flat.vmdk | cut -f1)" -le $((5 * M)) ]

# Preallocated disks cannot shrink; defragmenting them does nothing.
vdm -q -c -s 4MB -t 2 p.vmdk
vdm_fails 1 "p.vmdk is preallocated.*can be shrunk" -k p.vmdk
same_after -d p.vmdk

# A leftover of an interrupted run does not get in the way.
echo junk > s0.vmdk.vdl-tmp
same_after -k s0.vmdk
[ ! -e s0.vmdk.vdl-tmp ]

# Killed at any moment, a shrink leaves the old or the new disk, whole.
vdm -q -c -s 256MB -t 0 k.vmdk
qemu-io -f vmdk -c 'write -P 0x33 0 48M' -c 'write -P 0 48M 48M' \
  -c 'write -P 0x34 200M 8M' k.vmdk
qemu-img convert -O raw k.vmdk k.raw
for delay in 0.02 0.05 0.1 0.2 0.3 0.5; do
  "$VDM" -q -k k.vmdk &
  pid=$!
  sleep $delay
  kill -9 $pid 2>/dev/null || true
  wait $pid || true
  qemu-img check k.vmdk
  qemu-img compare -F raw k.vmdk k.raw
done
vdm -q -k k.vmdk
qemu-img compare -F raw k.vmdk k.raw
[ "$(data_bytes k.vmdk)" -eq $((56 * M)) ]

# A disk in use is refused.
qemu-io -f vmdk -c 'sleep 3000' s1.vmdk &
qpid=$!
cleanup_fn kill $qpid
sleep 1
vdm_fails 1 "s1.vmdk.*locked" -k s1.vmdk
kill $qpid; wait $qpid || true
