#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A descriptor whose extent file does not exist: opening fails with an error
# naming the missing file (flat and sparse extents, -r and read-write).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw "$PWD/flat.vmdk"
rm flat-flat.vmdk
vddk_serve_fails 'flat-flat\.vmdk' -r "$PWD/flat.vmdk"
vddk_serve_fails 'flat-flat\.vmdk' "$PWD/flat.vmdk"

qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse in.raw "$PWD/split.vmdk"
rm split-s001.vmdk
vddk_serve_fails 'split-s001\.vmdk' -r "$PWD/split.vmdk"
vddk_serve_fails 'split-s001\.vmdk' "$PWD/split.vmdk"
