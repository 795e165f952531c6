#!/bin/bash
# Memory does not grow with the disk: mapping a 4 TiB sparse disk made by
# qemu-img (every grain table preallocated, all of them empty) keeps
# nbdkit's peak RSS under 64 MiB.  Empty grain tables share one read-only
# copy, and tables that have no place in the file are never built; before,
# each of the 131072 tables cost 2 KiB (16 TiB: 1 GiB).  A bound on
# memory, not on time, so it cannot flake.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version

qemu-img create -q -f vmdk "$PWD/big.vmdk" 4T
start_nbdkit -P nbdkit.pid -U "$PWD/sock" -r "$VDDK_PLUGIN" "$PWD/big.vmdk"
nbdinfo --map "nbd+unix:///?socket=$PWD/sock" | tee map
grep -E '^ *0 +4398046511104 +3 +hole,zero$' map
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$(cat nbdkit.pid)"/status)
echo "peak RSS: $hwm KiB"
[ "$hwm" -lt $((64 * 1024)) ]
