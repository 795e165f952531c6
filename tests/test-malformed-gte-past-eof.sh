#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A grain table entry (in both the primary and the redundant table) that
# points far past the end of the file: reading that grain must fail with an
# error (or the open must fail) - never silently return garbage or zeroes -
# and nothing crashes.  (Whether the other grains of the same grain table
# stay readable is only reported.)
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

requires /usr/bin/python3 -c 'import nbd'
make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw "$PWD/bad.vmdk"
eval "$(sparse_header bad.vmdk)"
filesec=$(( $(stat -c %s bad.vmdk) / 512 ))
gt=$(get_le bad.vmdk $((gd_offset * 512)) 4)
rgt=$(get_le bad.vmdk $((rgd_offset * 512)) 4)
old=$(get_le bad.vmdk $((gt * 512 + 3 * 4)) 4)
[ "$old" -gt 1 ]      # grain 3 is allocated
put_le bad.vmdk $((gt * 512 + 3 * 4)) 4 $((filesec + 100000))
put_le bad.vmdk $((rgt * 512 + 3 * 4)) 4 $((filesec + 100000))
vddk_serve_fails 'grain|past|beyond|end of file|EOF|outside|offset|corrupt|range|short read|truncat' \
  -r "$PWD/bad.vmdk"

# If the image can be opened at all, a read of another grain still works and
# the bad grain fails.
if nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/bad.vmdk" --run 'nbdinfo --size "$uri"'; then
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/bad.vmdk" --run '
    nbdsh -u "$uri" -c "
good = open(\"in.raw\", \"rb\").read(65536)
try:
    assert h.pread(65536, 0) == good
    print(\"grain 0 (same grain table) still reads correctly\")
except nbd.Error as e:
    print(\"NOTE: grain 0 is unreadable too (whole grain table rejected):\", e)
try:
    h.pread(65536, 3 * 65536)
except nbd.Error as e:
    print(\"read of bad grain failed as expected:\", e)
else:
    raise SystemExit(\"read of the grain pointing past EOF succeeded\")
"'
fi
