#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Random writes into the top link of chains qemu-img made, checked by
# qemu-img decoding the chain: every child format qemu-img can put over
# a base (monolithicSparse, twoGbMaxExtentSparse, streamOptimized), over
# a sparse and a flat base; and a vmfsSparse delta over a flat base.
# Writes of data, of zero bytes and NBD zero requests, of any
# sector-aligned size, inside grains, across them and covering them
# whole; a reopen half way (random_writes in functions.sh).  What the
# base shows through where the child has no grain must survive writes
# that cover a grain in part, and zeros over the base's data must be
# kept.  The base files must not change.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

size=$((12 << 20))
make_pattern base.raw $size

for combo in monolithicSparse:monolithicSparse monolithicSparse:streamOptimized \
             monolithicFlat:twoGbMaxExtentSparse monolithicFlat:streamOptimized; do
  IFS=: read -r basefmt childfmt <<<"$combo"
  rm -rf imgs; mkdir imgs
  qemu-img convert -f raw -O vmdk -o subformat=$basefmt base.raw imgs/base.vmdk
  qemu-img create -q -f vmdk -o subformat=$childfmt -b base.vmdk -F vmdk \
    imgs/child.vmdk
  sha256sum imgs/base*.vmdk > base.sha
  cp base.raw ref.raw
  random_writes imgs/child.vmdk ref.raw
  sha256sum -c base.sha
done

# A vmfsSparse (COWD) delta as ESXi lays it out (qemu-img cannot make
# one) over the sample's flat base, with grains of 1 and 16 sectors.
for grain in 1 16; do
  rm -rf imgs; mkdir imgs
  cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" \
     "$SAMPLES/vmfs_thick-000001.vmdk" imgs/
  chmod u+w imgs/*
  /usr/bin/python3 "$srcdir/tests/make-cowd.py" imgs/vmfs_thick-flat.vmdk $grain \
    imgs/vmfs_thick-000001-delta.vmdk ref.raw single.raw
  sha256sum imgs/vmfs_thick.vmdk imgs/vmfs_thick-flat.vmdk > base.sha
  random_writes imgs/vmfs_thick-000001.vmdk ref.raw
  sha256sum -c base.sha
done

# The same paths in the library alone under ASan/UBSan (vdl-driver
# writes N sectors of one byte and flushes): a stream child's partial
# grains and zeros over its parent.
if [ -n "${ASAN_BUILDDIR:-}" ] && [ -x "$ASAN_BUILDDIR/tests/vdl-driver" ]; then
  rm -rf imgs; mkdir imgs
  qemu-img convert -f raw -O vmdk base.raw imgs/base.vmdk
  qemu-img create -q -f vmdk -o subformat=streamOptimized -b base.vmdk \
    -F vmdk imgs/child.vmdk
  cp base.raw ref.raw
  for w in 5:3:170 130:200:0 256:128:0 1000:700:85 2048:1:0; do
    IFS=: read -r sector n byte <<<"$w"
    env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
      "$ASAN_BUILDDIR/tests/vdl-driver" write "$PWD/imgs/child.vmdk" \
      "$sector" "$n" "$byte"
    /usr/bin/python3 -c 'import sys
s, n, b = map(int, sys.argv[1:4])
with open("ref.raw", "r+b") as f:
    f.seek(s * 512); f.write(bytes([b]) * (n * 512))' "$sector" "$n" "$byte"
  done
  qemu-img compare -f vmdk -F raw imgs/child.vmdk ref.raw
fi
