#!/bin/bash
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
