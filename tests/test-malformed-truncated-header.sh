#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A monolithicSparse file cut inside (or right after) its 512-byte KDMV
# header, or cut before its grain directory: opening fails cleanly with an
# error about the truncated header/file, never a crash.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw good.vmdk
eval "$(sparse_header good.vmdk)"
failed=
for cut in 4 77 200 511; do
  head -c $cut good.vmdk > "cut$cut.vmdk"
  vddk_serve_fails 'truncat|short|too small|end of file|EOF|premature|incomplete' \
    -r "$PWD/cut$cut.vmdk" || failed="$failed cut$cut"
done
# Header complete, metadata (descriptor, grain directory and tables) missing.
head -c 512 good.vmdk > hdronly.vmdk
vddk_serve_fails 'truncat|short|descriptor|grain|directory|end of file|EOF|beyond|past' \
  -r "$PWD/hdronly.vmdk" || failed="$failed hdronly"
# Cut inside the grain directory/tables.
head -c $(( (gd_offset + 2) * 512 )) good.vmdk > nogt.vmdk
vddk_serve_fails 'truncat|short|grain|directory|table|end of file|EOF|beyond|past' \
  -r "$PWD/nogt.vmdk" || failed="$failed nogt"
if [ -n "$failed" ]; then echo "FAILED:$failed"; exit 1; fi
