#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Extent sizes that do not match: (a) a SPARSE extent line whose size is
# larger than the capacity in the sparse extent's header, (b) a FLAT extent
# line larger than its flat file.  Serving fails cleanly with an error about
# the extent/size (at open or when reading the missing part) - not silent
# garbage and no crash.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse in.raw "$PWD/split.vmdk"
sed -i 's/^RW 8192 SPARSE /RW 16384 SPARSE /' split.vmdk
grep -q '^RW 16384 SPARSE' split.vmdk
vddk_serve_fails 'extent|capacity|mismatch' -r "$PWD/split.vmdk"

qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw "$PWD/flat.vmdk"
truncate -s $((2 << 20)) flat-flat.vmdk
vddk_serve_fails 'too small|short|truncat|end of file|EOF' -r "$PWD/flat.vmdk"
