#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit vddk create=true create-type=monolithic-sparse (the man page's
# "qemu-img convert input.qcow2 $uri" example): the new image has
# createType monolithicSparse, qemu-img accepts it and finds it equal to the input,
# and nbdkit serves the same bytes again.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

size=$((24 << 20))
make_pattern in.raw $size
create_roundtrip monolithic-sparse 'monolithicSparse' $size
[ "$(head -c 4 "$CREATED")" = KDMV ]
[ "$(ls out-monolithic-sparse*)" = out-monolithic-sparse.vmdk ]   # one file
awk -F"\t" '$3 != "SPARSE" { exit 1 }' extents.txt
