#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A zeroed grain (GTE = 1, zeroed_grain=on) in a child stops the fall-through
# to the parent: those grains read as zeroes although the base has data
# there, and a partial NBD write into such a grain keeps the rest of it zero
# (it must not copy the parent's data in).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version
requires qemu-io --version

M=$((1 << 20)) G=65536
size=$((4 * M))
make_pattern base.raw $size
qemu-img convert -f raw -O vmdk base.raw base.vmdk
qemu-img create -f vmdk -o zeroed_grain=on -b base.vmdk -F vmdk "$PWD/child.vmdk"
qemu-io -f vmdk -c "write -z 0 $((2*G))" -c "write -z $((2*M)) $G" \
  -c "write -P 0x5a $M $G" "$PWD/child.vmdk"
qemu_to_raw "$PWD/child.vmdk" chain.raw
# qemu really reads zeroes there, over base data
cmp -n $((2*G)) chain.raw /dev/zero
if cmp -s -n $((2*G)) base.raw /dev/zero; then echo "base has no data there"; exit 1; fi

vddk_to_raw nbd.raw -r "$PWD/child.vmdk"
same_raw nbd.raw chain.raw
m1=$(grain_map_vddk "$PWD/child.vmdk")
m2=$(grain_map_qemu "$PWD/child.vmdk")
same_map "chain map" "$m1" "$m2"

base_sum=$(sha256sum < base.vmdk)
mv chain.raw ref.raw
start_nbdkit -P w.pid -U "$PWD/w.sock" "$VDDK_PLUGIN" "$PWD/child.vmdk"
nbd_write_mirror "nbd+unix:///?socket=$PWD/w.sock" ref.raw \
  "$((G + 512)):1024" "$((2*M + 4096)):512"
kill_nbdkit w.pid
[ "$(sha256sum < base.vmdk)" = "$base_sum" ]
qemu-img check "$PWD/child.vmdk"
qemu-img compare -f vmdk -F raw "$PWD/child.vmdk" ref.raw
vddk_to_raw nbd.raw -r "$PWD/child.vmdk"
same_raw nbd.raw ref.raw
