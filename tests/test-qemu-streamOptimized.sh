#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-img streamOptimized (compressed grains, read-only): nbdkit vddk serves
# the same bytes as qemu-img decodes, and nbdinfo --map agrees with qemu-img
# map.  Also with a size that is not a multiple of the grain size.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires qemu-img --version

for size in $((40 << 20)) $(( (3 << 20) + 2560 )); do
  make_pattern in.raw $size
  qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw "$PWD/img.vmdk"
  qemu_roundtrip "$PWD/img.vmdk" ro,map
  rm -f in.raw img.vmdk
done
