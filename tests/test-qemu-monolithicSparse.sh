#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-img monolithicSparse (zeroed_grain off): nbdkit vddk serves the same
# bytes as qemu-img decodes, writes through NBD (scattered, partial grains,
# unallocated grains, a second grain table, zeroes) and a whole-disk nbdcopy
# overwrite are read back identically by qemu-img, qemu-img check stays clean,
# and nbdinfo --map agrees with qemu-img map at grain granularity.  Also a
# disk whose size is not a multiple of the grain size.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

size=$((64 << 20))          # two grain tables (32 MiB each)
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw "$PWD/img.vmdk"
qemu_roundtrip "$PWD/img.vmdk" map $(default_write_specs $size) \
  "$((40 << 20)):131072" "$(( (35 << 20) + 512 )):4096" "$(((32 << 20) - 4096)):8192"

# Whole-disk overwrite with nbdcopy: different data (in.raw shifted by
# 1 MiB, so some allocated grains become zero and some holes get data).
dd if=in.raw of=in2.raw bs=1M skip=1 conv=sparse status=none
truncate -s $size in2.raw
nbdkit -U - "$VDDK_PLUGIN" "$PWD/img.vmdk" --run 'nbdcopy --flush in2.raw "$uri"'
qemu-img check "$PWD/img.vmdk"
qemu-img compare -f vmdk -F raw "$PWD/img.vmdk" in2.raw
vddk_to_raw nbd.raw -r "$PWD/img.vmdk"
same_raw nbd.raw in2.raw
m1=$(grain_map_vddk "$PWD/img.vmdk")
m2=$(grain_map_qemu "$PWD/img.vmdk")
same_map "after nbdcopy" "$m1" "$m2"
rm -f in.raw in2.raw nbd.raw img.vmdk

# Size not a multiple of the 64 KiB grain: the last grain is partial.
size=$(( (5 << 20) + 1536 ))
make_pattern odd.raw $size
qemu-img convert -f raw -O vmdk odd.raw "$PWD/odd.vmdk"
[ "$(nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/odd.vmdk" --run 'nbdinfo --size "$uri"')" = $size ]
qemu_roundtrip "$PWD/odd.vmdk" map "0:512" "$((size - 1024)):1024" "$((size - 70144)):70144" \
  "$((3 << 20)):512"
