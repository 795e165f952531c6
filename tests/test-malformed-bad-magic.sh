#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A sparse extent whose magic is not KDMV: (a) the SPARSE extent of a
# twoGbMaxExtentSparse descriptor, (b) a monolithicSparse file with its
# magic damaged (it is then neither a sparse file nor a text descriptor).
# Opening fails cleanly with an error about the magic/format.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse in.raw "$PWD/split.vmdk"
[ -f split-s001.vmdk ]
printf 'XXXX' | dd of=split-s001.vmdk conv=notrunc status=none
vddk_serve_fails 'magic|KDMV|not a (valid )?sparse' -r "$PWD/split.vmdk"

qemu-img convert -f raw -O vmdk in.raw "$PWD/mono.vmdk"
printf 'KDMX' | dd of=mono.vmdk conv=notrunc status=none
vddk_serve_fails 'magic|not a (valid )?(vmdk|virtual disk)' -r "$PWD/mono.vmdk"
