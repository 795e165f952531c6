#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A descriptor whose extent line has an unknown extent type: opening fails
# with an error naming the type (or saying the extent type is unknown).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw "$PWD/img.vmdk"
sed -i 's/^RW \([0-9]*\) FLAT /RW \1 FOOBAR /' img.vmdk
grep -q FOOBAR img.vmdk
vddk_serve_fails 'FOOBAR|(unknown|unsupported|invalid|bad).*extent|extent.*type' -r "$PWD/img.vmdk"
