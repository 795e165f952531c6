#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-img monolithicFlat: nbdkit vddk serves the same bytes as qemu-img,
# scattered NBD writes and a whole-disk nbdcopy overwrite are seen by
# qemu-img after nbdkit exits, and qemu-img check stays clean.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

size=$((16 << 20))
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw "$PWD/img.vmdk"
[ -f img-flat.vmdk ]
qemu_roundtrip "$PWD/img.vmdk" flat $(default_write_specs $size)

dd if=in.raw of=in2.raw bs=1M skip=1 conv=sparse status=none
truncate -s $size in2.raw
nbdkit -U - "$VDDK_PLUGIN" "$PWD/img.vmdk" --run 'nbdcopy --flush in2.raw "$uri"'
qemu-img check "$PWD/img.vmdk"
qemu-img compare -f vmdk -F raw "$PWD/img.vmdk" in2.raw
# The flat extent is the raw disk itself.
cmp img-flat.vmdk in2.raw
vddk_to_raw nbd.raw -r "$PWD/img.vmdk"
same_raw nbd.raw in2.raw
