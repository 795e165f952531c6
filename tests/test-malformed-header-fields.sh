#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Sparse headers with impossible values - grainSize 0 or not a power of two,
# numGTEsPerGT 0, version 99, an unknown incompatible flag, an absurd
# capacity, a descriptor area past EOF - are rejected cleanly at open with
# an error, never a crash (division by zero, huge allocation...).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw good.vmdk
#        name          byte-offset size value          error-regex
cases=(
  "grain0        20  8  0                  grain"
  "grain3        20  8  3                  grain"
  "gtes0         44  4  0                  grain|table|GTE"
  "version99     4   4  99                 version"
  "flag24        8   4  $((0x01000003))     flag|feature|unsupported|incompatible"
  "capacity      12  8  $((1 << 62))        capacity|size|large|grain|directory|past|beyond"
  "descoff       28  8  $((1 << 40))        descriptor|past|beyond|end of file|EOF|offset|truncat|short"
)
failed=
for c in "${cases[@]}"; do
  read -r name off size value regex <<<"$c"
  cp good.vmdk "$name.vmdk"
  put_le "$name.vmdk" $off $size $value
  vddk_serve_fails "$regex" -r "$PWD/$name.vmdk" || failed="$failed $name"
done
if [ -n "$failed" ]; then echo "FAILED:$failed"; exit 1; fi
