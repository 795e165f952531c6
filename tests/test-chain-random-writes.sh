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
# kept.  The base files must not change.  Then concurrent writes to the
# sectors of grains being copied up from the parent.
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

# Copy-on-write under concurrency: every sector of 64 grains the child
# does not have is written on its own, from four connections with up to
# 32 requests each in flight, in shuffled order, so that writers of one
# grain meet while its parent data is being copied up.  Sectors do not
# overlap, so the result is the same in any order.
for childfmt in monolithicSparse streamOptimized twoGbMaxExtentSparse; do
  rm -rf imgs; mkdir imgs
  qemu-img convert -f raw -O vmdk base.raw imgs/base.vmdk
  qemu-img create -q -f vmdk -o subformat=$childfmt -b base.vmdk -F vmdk \
    imgs/child.vmdk
  cp base.raw ref.raw
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/imgs/child.vmdk" --run '/usr/bin/python3 -c "
import nbd, random
hs = []
for i in range(4):
    h = nbd.NBD()
    h.connect_uri(\"$uri\")
    hs.append(h)
ref = bytearray(open(\"ref.raw\", \"rb\").read())
sectors = list(range(64 * 128, 128 * 128))
random.Random(7).shuffle(sectors)
for s in sectors:
    data = ((b\"s%08d\" % s) * 60)[:512]
    h = hs[s % 4]
    h.aio_pwrite(data, s * 512)
    ref[s * 512:(s + 1) * 512] = data
    while h.aio_in_flight() >= 32:
        h.poll(-1)
for h in hs:
    while h.aio_in_flight() > 0:
        h.poll(-1)
hs[0].flush()
open(\"ref.raw\", \"wb\").write(ref)
"'
  qemu-img compare -f vmdk -F raw imgs/child.vmdk ref.raw
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
