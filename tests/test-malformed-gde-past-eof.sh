#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A grain directory entry (primary and redundant) pointing far past the end
# of the file: opening or reading fails cleanly with an error about the
# grain directory/table, never a crash.  Also a grain directory offset in
# the header that points past EOF.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw "$PWD/bad.vmdk"
cp bad.vmdk bad2.vmdk
eval "$(sparse_header bad.vmdk)"
filesec=$(( $(stat -c %s bad.vmdk) / 512 ))
put_le bad.vmdk $((gd_offset * 512)) 4 $((filesec + 100000))
put_le bad.vmdk $((rgd_offset * 512)) 4 $((filesec + 100000))
vddk_serve_fails 'grain|directory|table|past|beyond|end of file|EOF|outside|offset|corrupt|range|short read|truncat' \
  -r "$PWD/bad.vmdk"

# gdOffset and rgdOffset in the header past EOF.
put_le bad2.vmdk 48 8 $((filesec + 100000))
put_le bad2.vmdk 56 8 $((filesec + 200000))
vddk_serve_fails 'grain|directory|table|past|beyond|end of file|EOF|outside|offset|corrupt|range|short read|truncat' \
  -r "$PWD/bad2.vmdk"
