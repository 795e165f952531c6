#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The man page's create example (qemu-img convert into a new sparse VMDK)
# must keep the output sparse: qemu-img writes zeros for the empty parts
# of the input, and those must not allocate grains.  Zeros written over
# data must still overwrite it.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
qemu-img create -q -f qcow2 in.qcow2 1G
qemu-io -f qcow2 -c 'write -P 5 0 1M' -c 'write -P 6 700M 64k' in.qcow2 >/dev/null

nbdkit -U - "$VDDK_PLUGIN" "$PWD/out.vmdk" create=true create-size=1G \
       --run 'qemu-img convert -O raw in.qcow2 $uri'
qemu-img check out.vmdk
qemu-img compare in.qcow2 out.vmdk
ls -ls out.vmdk
# 1 MiB + 64 KiB of data plus metadata; allocating the zeros would be 1 GiB.
[ "$(stat -c %s out.vmdk)" -lt $((4 << 20)) ]
qemu-img map --output=json out.vmdk > map.json
cat map.json
[ "$(grep -c '"data": true' map.json)" -eq 2 ]

# Zeros over existing data are written, not skipped.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/out.vmdk" \
       --run 'nbdsh -u "$uri" -c "h.pwrite(bytearray(4096), 8192); h.flush()"'
qemu-io -f vmdk -c 'read -P 0 8192 4096' -c 'read -P 5 0 8192' \
        -c 'read -P 5 12288 4096' out.vmdk > check.out
cat check.out
refute grep -i "verification failed" check.out
