#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit vddk create=true create-type=vmfs-thin (the man page's
# "qemu-img convert input.qcow2 $uri" example): the new image has
# createType vmfsThin|vmfs, qemu-img accepts it and finds it equal to the input,
# and nbdkit serves the same bytes again.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

size=$((24 << 20))
make_pattern in.raw $size
create_roundtrip vmfs-thin 'vmfsThin|vmfs' $size
# ESXi writes createType="vmfs" + ddb.thinProvisioned = "1"; accept vmfsThin too
if [ "$(ddb_value "$CREATED" createType)" = vmfs ]; then
  [ "$(ddb_value "$CREATED" ddb.thinProvisioned)" = 1 ]
fi
awk -F"\t" '$3 != "VMFS" { exit 1 }' extents.txt
# Thin stays thin: the zeros qemu-img writes for the input's holes
# (1 MiB of every 4 MiB) must not allocate space in the flat file.
flat="${CREATED%.vmdk}-flat.vmdk"
ls -ls "$flat"
[ $(( $(stat -c %b "$flat") * 512 )) -le $(( size - (4 << 20) )) ]
