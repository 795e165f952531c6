#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-img twoGbMaxExtentSparse with a disk just over 2 GiB (two sparse
# extent files): reads, writes crossing the extent boundary, qemu-img
# check/compare, and nbdinfo --map against qemu-img map.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

G=$((1 << 30)) M=$((1 << 20))
size=$((2*G + 4*M))
truncate -s $size in.raw
pattern_region in.raw 0 $((8*M))
pattern_region in.raw $((2*G - 3*M)) $((7*M))
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse in.raw "$PWD/img.vmdk"
rm in.raw
ls -l img*.vmdk
[ -f img-s001.vmdk ]   # really two extents
[ -f img-s002.vmdk ]
qemu_roundtrip "$PWD/img.vmdk" map $(default_write_specs $size) \
  "$((2*G - 2048)):8192" \
  "$((2*G - 2*65536 + 512)):$((3*65536))" \
  "$((2*G + 3*M + 512)):1024" \
  "$((G + 512)):4096"
