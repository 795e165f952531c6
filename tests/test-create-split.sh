#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit vddk create=true create-type=split-sparse and split-flat with a
# disk just over 2 GiB, so that more than one extent file is needed: the
# image has createType twoGbMaxExtentSparse/Flat with >= 2 extents of the
# right kind, qemu-img check/compare accept it, nbdkit re-serves the input.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

G=$((1 << 30)) M=$((1 << 20))
size=$((2*G + 8*M))
truncate -s $size in.raw
pattern_region in.raw 0 $((4*M))
pattern_region in.raw $((2*G - 4*M)) $((12*M))

for t in split-sparse split-flat; do
  case $t in
    split-sparse) ct=twoGbMaxExtentSparse kind=SPARSE ;;
    split-flat)   ct=twoGbMaxExtentFlat   kind=FLAT ;;
  esac
  create_roundtrip $t $ct $size
  [ "$(wc -l < extents.txt)" -ge 2 ]
  awk -F'\t' -v k=$kind '$3 != k { exit 1 }' extents.txt
  rm -f out-$t* input.qcow2
done
