#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit vddk create=true create-type=monolithic-flat (the man page's
# "qemu-img convert input.qcow2 $uri" example): the new image has
# createType monolithicFlat, qemu-img accepts it and finds it equal to the input,
# and nbdkit serves the same bytes again.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

size=$((24 << 20))
make_pattern in.raw $size
create_roundtrip monolithic-flat 'monolithicFlat' $size
[ "$(head -c 4 "$CREATED")" != KDMV ]
awk -F"\t" '$3 != "FLAT" { exit 1 }' extents.txt
[ "$(wc -l < extents.txt)" -eq 1 ]
