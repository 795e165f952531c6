#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# unbuffered=true opens flat extents with O_DIRECT (where the filesystem
# allows it) and data still round-trips; without it, no O_DIRECT.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires strace -V
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$PWD/f.vmdk" 8M
make_pattern in.raw 8388608

# Does this filesystem take O_DIRECT at all?
if ! dd if=in.raw of=probe bs=4096 count=1 oflag=direct 2>/dev/null; then
  echo "SKIP: the test directory's filesystem refuses O_DIRECT"
  exit 77
fi

strace -f -e trace=openat -o trace.log \
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/f.vmdk" unbuffered=true \
         --run 'nbdcopy in.raw "$uri" && nbdcopy "$uri" out.raw'
cmp in.raw out.raw
grep 'f-flat.vmdk' trace.log
grep 'f-flat.vmdk.*O_DIRECT' trace.log
qemu-img compare -f raw -F vmdk in.raw f.vmdk

strace -f -e trace=openat -o trace2.log \
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/f.vmdk" --run 'nbdcopy "$uri" out2.raw'
cmp in.raw out2.raw
grep 'f-flat.vmdk' trace2.log
refute grep 'f-flat.vmdk.*O_DIRECT' trace2.log
