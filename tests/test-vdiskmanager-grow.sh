#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -x: every type grows, keeping its content; qemu-img sees
# the new size, finds no errors, and can write and read the new part;
# the geometry and the CID change (the geometry stays with
# --keep-geometry); growable files stay small; sparse extents get new
# grain tables and, past 128 of them, a directory moved to a larger
# place; split disks get new extent files.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

M=$((1 << 20)) G=$((1 << 30))

# grow_and_check DISK NEWSIZE: grow, then compare with the old content
# padded with zeros, then write the last MiB with qemu and read it back.
grow_and_check () {
  local disk=$1 size=$2 cid
  qemu-img convert -O raw "$disk" before.raw
  cid=$(ddb_value "$disk" CID)
  vdm -q -x "$size" "$disk"
  qemu-img info --output=json "$disk" | grep -q "\"virtual-size\": $3,"
  truncate -s "$3" before.raw
  qemu-img compare -F raw "$disk" before.raw
  [ "$(ddb_value "$disk" CID)" != "$cid" ]
  qemu-img check "$disk" || [ "$(ddb_value "$disk" createType)" = vmfs ]
  rm -f before.raw
}

# The VMware-made samples: growable (redundant directory), split
# growable, flat, split flat, ESX vmfs (qemu cannot open it: read back
# through the library).
copy_sample monolithicSparse ms
grow_and_check ms/monolithicSparse.vmdk 100MB $((100 * M))
# 5 GiB needs 160 grain tables: the one-sector directory moves.
grow_and_check ms/monolithicSparse.vmdk 5GB $((5 * G))
qemu-io -f vmdk -c "write -P 0xab $((5 * G - M)) 1M" ms/monolithicSparse.vmdk
qemu-io -f vmdk -c "read -P 0xab $((5 * G - M)) 1M" ms/monolithicSparse.vmdk > read.out
refute grep -qi fail read.out
qemu-img check ms/monolithicSparse.vmdk
[ "$(du -B1 ms/monolithicSparse.vmdk | cut -f1)" -lt $((8 * M)) ]
[ "$(ddb_value ms/monolithicSparse.vmdk ddb.adapterType)" = buslogic ]
[ "$(ddb_value ms/monolithicSparse.vmdk ddb.geometry.cylinders)" = 652 ]

copy_sample twoGbMaxExtentSparse ss
grow_and_check ss/twoGbMaxExtentSparse.vmdk 5GB $((5 * G))
# The last extent grew to the extent size, then two more were added.
[ "$(ls ss/twoGbMaxExtentSparse-s00*.vmdk | wc -l)" -eq 3 ]
vmdk_descriptor ss/twoGbMaxExtentSparse.vmdk | grep -q '^RW 4192256 SPARSE "twoGbMaxExtentSparse-s002.vmdk"'
qemu-io -f vmdk -c "write -P 0xcd $((5 * G - M)) 1M" ss/twoGbMaxExtentSparse.vmdk
qemu-io -f vmdk -c "read -P 0xcd $((5 * G - M)) 1M" ss/twoGbMaxExtentSparse.vmdk > read.out
refute grep -qi fail read.out

copy_sample monolithicFlat mf
grow_and_check mf/monolithicFlat.vmdk 30MB $((30 * M))
[ "$(stat -c %s mf/monolithicFlat-flat.vmdk)" -eq $((30 * M)) ]

copy_sample twoGbMaxExtentFlat sf
grow_and_check sf/twoGbMaxExtentFlat.vmdk 20MB $((20 * M))

copy_sample 4 v4
sha=$(vdm_sha v4/4.vmdk)
vdm -q -x 20MB v4/4.vmdk
vmdk_descriptor v4/4.vmdk | grep -q '^RW 40960 VMFS "4-flat.vmdk" 0'
vdm -q -r v4/4.vmdk -t 2 v4c.vmdk
qemu-img convert -O raw v4c.vmdk v4c.raw
[ "$(stat -c %s v4c.raw)" -eq $((20 * M)) ]
[ "$(head -c $((10 * M)) v4c.raw | sha256sum | cut -d' ' -f1)" = $SAMPLE_SHA ]
cmp -n $((10 * M)) -i $((10 * M)) v4c.raw /dev/zero
rm v4c.*

# Disks made by the tool: each type, with data (streams are written
# through the library: qemu cannot append to them).
vdm -q -c -s 4MB -t 0 data.vmdk
qemu-io -f vmdk -c 'write -P 0x5a 1M 1M' data.vmdk
for t in 0 1 2 3 4 5 6; do
  vdm -q -r data.vmdk -t $t c$t.vmdk
  grow_and_check c$t.vmdk 12MB $((12 * M))
done
# Thin stays thin, preallocated stays preallocated.
[ "$(du -B1 c6-flat.vmdk | cut -f1)" -lt $((4 * M)) ]
[ "$(du -B1 c4-flat.vmdk | cut -f1)" -ge $((12 * M)) ]
# A stream stays a stream (rewritten beside the old file).
[ "$(ddb_value c5.vmdk createType)" = streamOptimized ]
[ ! -e c5.vmdk.vdl-tmp ]

# The geometry follows the size (SCSI: 64x32 below 1 GiB, 255x63 from
# 1 GiB), unless --keep-geometry.
vdm -q -c -s 100MB -t 0 g.vmdk
[ "$(ddb_value g.vmdk ddb.geometry.heads)" = 64 ]
vdm -q -x 2GB g.vmdk
[ "$(ddb_value g.vmdk ddb.geometry.heads)" = 255 ]
[ "$(ddb_value g.vmdk ddb.geometry.cylinders)" = 261 ]
vdm -q -x 3GB --keep-geometry g.vmdk
[ "$(ddb_value g.vmdk ddb.geometry.cylinders)" = 261 ]
qemu-img info g.vmdk | grep -q 'virtual size: 3 GiB'

# Errors: smaller, children, disks in use; none changes the disk.
vdm_fails 1 "disks only grow" -x 1GB g.vmdk
qemu-img create -q -f vmdk -b g.vmdk -F vmdk child.vmdk
vdm_fails 1 "child.vmdk is a child" -x 4GB child.vmdk
qemu-io -f vmdk -c 'sleep 3000' g.vmdk &
qpid=$!
cleanup_fn kill $qpid
sleep 1
vdm_fails 1 "g.vmdk.*locked" -x 4GB g.vmdk
kill $qpid; wait $qpid || true
qemu-img info g.vmdk | grep -q 'virtual size: 3 GiB'
vdm_fails 2 "bad size" -x big g.vmdk
