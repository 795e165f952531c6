#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The library under valgrind: reading every sample (checked against the
# expected checksums), allocation maps, and writes that allocate grains
# in a copy, with no memory errors and no leaks.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires valgrind --version
driver="$builddir/tests/vdl-driver"
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"

for f in monolithicSparse.vmdk streamOptimized.vmdk twoGbMaxExtentFlat.vmdk; do
  sum=$($vg "$driver" cat "$SAMPLES/$f" | sha256sum | cut -d' ' -f1)
  [ "$sum" = a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727 ]
  $vg "$driver" map "$SAMPLES/$f" > /dev/null
done
sum=$($vg "$driver" cat "$SAMPLES/streamOptimizedWithMarkers.vmdk" | sha256sum | cut -d' ' -f1)
[ "$sum" = 92c0f8b4280377437056f57c51ef51a5f8aeb1462ac630ef0633febcbfc3db4e ]

# Writes: partial grain into an unallocated grain, then create + write.
cp "$SAMPLES/monolithicSparse.vmdk" ms.vmdk
$vg "$driver" write "$PWD/ms.vmdk" 20000 3 171
qemu-img check ms.vmdk
qemu-img convert -O raw ms.vmdk ms.raw
cmp -n 512 -i $((20000*512)):0 ms.raw <(head -c 512 /dev/zero | tr '\0' '\253')

$vg "$driver" create "$PWD/new.vmdk" 1 8192
$vg "$driver" write "$PWD/new.vmdk" 100 300 66
qemu-img check new.vmdk
[ "$(qemu-img map --output=json new.vmdk | grep -c '"data": true')" -ge 1 ]

# A stream-optimized disk: created, written (compressed grains, a footer
# at flush), read back by qemu-img.
$vg "$driver" create "$PWD/stream.vmdk" 6 8192
$vg "$driver" write "$PWD/stream.vmdk" 100 300 66
$vg "$driver" write "$PWD/stream.vmdk" 150 10 0
qemu-img check stream.vmdk
qemu-img convert -O raw stream.vmdk stream.raw
cmp -n 512 -i $((100*512)):0 stream.raw <(head -c 512 /dev/zero | tr '\0' 'B')
cmp -n 5120 -i $((150*512)):0 stream.raw /dev/zero
