#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit vddk create=true create-type=vmfs-sparse: an ESX vmfsSparse
# (COWD) disk that qemu-img accepts and finds equal to the input, with
# grain tables only where data was written, served again identically.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

size=$((24 << 20))
make_pattern in.raw $size
create_roundtrip vmfs-sparse vmfsSparse $size
awk -F"\t" '$3 != "VMFSSPARSE" || $4 !~ /-delta\.vmdk$/ { exit 1 }' extents.txt
delta="${CREATED%.vmdk}-delta.vmdk"
head -c 4 "$delta" | grep -q COWD
# make_pattern leaves 1 MiB holes: they must not be allocated.
[ "$(stat -c %s "$delta")" -lt "$size" ]
